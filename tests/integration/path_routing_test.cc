// Routes see the canonical path (RFC 3986 section 6.2.2), so the classic
// bypasses cannot reach a server through a route that was not meant for
// them: the `/upload/` route must not carry `/upload/../internal/admin`,
// and `//internal` or `/%69nternal` must not dodge the `/internal` one.
#include <doctest/doctest.h>

#include <string>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

// Three upstreams: `/upload/` to "upload", `/internal` to "internal" and
// everything else to "public", each with one recording backend.
struct RoutedProxy {
  HttpBackend upload{"upload"};
  HttpBackend internal{"internal"};
  HttpBackend open{"public"};
  Proxy proxy;

  explicit RoutedProxy(const std::string& listener_extra = "") : proxy(yaml(listener_extra)) {}

  std::string yaml(const std::string& listener_extra) const {
    HttpConfig config{.servers = {open.port()}};
    config.routes =
        "      - { match: { path_prefix: /upload/ }, upstream: upload }\n"
        "      - { match: { path_prefix: /internal }, upstream: internal }\n"
        "      - { upstream: pool }\n";
    config.extra_upstreams =
        "  upload:\n    servers: [ { address: 127.0.0.1:" + std::to_string(upload.port()) +
        " } ]\n"
        "  internal:\n    servers: [ { address: 127.0.0.1:" +
        std::to_string(internal.port()) + " } ]\n";
    config.listener_extra = listener_extra;
    return config.yaml();
  }

  // "upload /internal/admin": the backend that answered and the request
  // line's target it received; or the status fulcrum answered itself.
  std::string ask(const std::string& target) {
    Fd client = connectLoopback(proxy.port("web"));
    HttpReader reader(client.get());
    REQUIRE(writeAll(client.get(), "GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n"));
    auto response = reader.response(false);
    REQUIRE(response);
    if (response->status != 200) return std::to_string(response->status);
    const std::string backend = response->field("X-Backend").value_or("?");
    HttpBackend& server = backend == "upload" ? upload : backend == "internal" ? internal : open;
    auto requests = server.requests();
    REQUIRE_FALSE(requests.empty());
    const std::string& line = requests.back().start_line;  // "GET /x HTTP/1.1"
    return backend + " " + line.substr(4, line.rfind(' ') - 4);
  }

  int received() {
    return static_cast<int>(upload.requests().size() + internal.requests().size() +
                            open.requests().size());
  }
};

}  // namespace

TEST_CASE("routing: dot segments, double slashes and encodings are resolved before matching") {
  RoutedProxy routed;
  CHECK(routed.ask("/upload/file") == "upload /upload/file");
  CHECK(routed.ask("/upload/../internal/admin") == "internal /internal/admin");
  CHECK(routed.ask("/a/../b") == "public /b");
  CHECK(routed.ask("/./upload/x") == "upload /upload/x");
  CHECK(routed.ask("//internal/admin") == "internal /internal/admin");
  CHECK(routed.ask("/upload//x") == "upload /upload/x");
  CHECK(routed.ask("/%69nternal/keys?a=%2e%2e") == "internal /internal/keys?a=%2e%2e");
  CHECK(routed.ask("/%75pload/%2e/x") == "upload /upload/x");
  CHECK(routed.ask("/upload%2F..%2Finternal") == "public /upload%2F..%2Finternal");
}

TEST_CASE("routing: a path that climbs above the root is a 400 that reaches no server") {
  RoutedProxy routed;
  for (const char* target : {"/upload/../../internal/admin", "/%2e%2e/internal", "/..",
                             "/upload/%2E%2E/%2e%2e/internal", "/a%zz"}) {
    CAPTURE(target);
    CHECK(routed.ask(target) == "400");
  }
  CHECK(routed.received() == 0);
}

TEST_CASE("routing: normalize_path: false routes on the canonical path, sends the client's") {
  RoutedProxy routed("    normalize_path: false\n");
  CHECK(routed.ask("/upload/../internal/admin") == "internal /upload/../internal/admin");
  CHECK(routed.ask("//internal") == "internal //internal");
  CHECK(routed.ask("/upload/file") == "upload /upload/file");
  CHECK(routed.ask("/../internal") == "400");
}
