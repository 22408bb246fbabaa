// Methods fulcrum refuses or will not repeat, through the real proxy. Servers
// record requests byte for byte (RawBackend); where a retry is in question
// the failing server is the only primary and the answering one a backup,
// so a retry, if any, always lands on the backup.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/raw_backend.h"

using namespace fulcrum::test;

namespace {

const RawAnswer kOk{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};

}  // namespace

TEST_CASE("methods: TRACE gets 405 and reaches no server unless its route allows it") {
  RawBackend backend(kOk);
  HttpConfig config{.servers = {backend.port()}};
  config.routes =
      "      - { match: { path_prefix: /debug/ }, upstream: pool, allow_trace: true }\n"
      "      - { upstream: pool }\n";
  Proxy proxy(config.yaml());
  auto refused = rawExchange(proxy.port("web"), "TRACE /pay HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(rawStatus(refused) == 405);
  CHECK(refused->find("\"error\":\"method_not_allowed\"") != std::string::npos);
  CHECK(backend.connections() == 0);

  auto allowed = rawExchange(proxy.port("web"), "TRACE /debug/x HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(rawStatus(allowed) == 200);
  REQUIRE(backend.requests().size() == 1);
  CHECK(withoutForwardingFields(backend.requests()[0]) ==
        "TRACE /debug/x HTTP/1.1\r\nHost: t\r\n\r\n");
}

TEST_CASE("methods: an allowed TRACE is never sent twice, where a GET is retried") {
  RawBackend failing(closeWithoutAnswer());
  RawBackend backup(kOk);
  HttpConfig config{.servers = {failing.port()}, .backups = {backup.port()}};
  config.routes = "      - { upstream: pool, allow_trace: true }\n";
  Proxy proxy(config.yaml());
  auto trace = rawExchange(proxy.port("web"), "TRACE /t HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(rawStatus(trace) == 502);
  CHECK(failing.requests().size() == 1);
  CHECK(backup.connections() == 0);

  auto get = rawExchange(proxy.port("web"), "GET /t HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(rawStatus(get) == 200);
  CHECK(failing.requests().size() == 2);
  CHECK(backup.requests().size() == 1);
}

TEST_CASE("methods: CONNECT stays refused") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  CHECK(rawStatus(rawExchange(proxy.port("web"),
                              "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n")) == 400);
  CHECK(backend.connections() == 0);
}
