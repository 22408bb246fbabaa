// defer_accept on an HTTP listener (TCP_DEFER_ACCEPT): the kernel hands a
// connection over once its first bytes came, and the request is read at
// once. Through the real binary: a request sent with its connection is
// answered, one that closes its connection too and the connection ends;
// keep-alive goes on over such a connection; a connection that sends
// nothing is not handed over (not counted) until it does; a reload that
// turns the option off hands silent connections over again.
#include <doctest/doctest.h>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

std::string deferYaml(uint16_t backend, bool defer, const std::string& header_timeout = "10s") {
  return HttpConfig{
      .servers = {backend},
      .client_header_timeout = header_timeout,
      .listener_extra = std::string("    defer_accept: ") + (defer ? "true" : "false") + "\n"}
      .yaml();
}

std::optional<double> active(Proxy& proxy) {
  return sample(httpGet(proxy.adminPort(), "/metrics").body,
                "fulcrum_downstream_connections_active{listener=\"web\"}");
}

}  // namespace

TEST_CASE("defer_accept: requests sent with their connection are answered, closing or kept") {
  HttpBackend backend("b1");
  Proxy proxy(deferYaml(backend.port(), true));
  {
    Fd client = connectLoopback(proxy.port("web"));
    REQUIRE(client);
    HttpReader reader(client.get());
    REQUIRE(
        writeAll(client.get(), "GET /closing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(reader.atEof());
  }
  Fd kept = connectLoopback(proxy.port("web"));
  REQUIRE(kept);
  HttpReader reader(kept.get());
  for (int n = 1; n <= 3; ++n) {
    REQUIRE(writeAll(kept.get(), "GET /kept" + std::to_string(n) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  const std::vector<HttpMessage> requests = backend.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].path == "/closing");
  CHECK(requests[3].path == "/kept3");
}

// A silent connection's client_header_timeout (200ms) runs from when fulcrum
// has it: handed over at once, it has its 408 by then; held by the kernel
// (its first SYN-ACK retransmission, which hands it over silent, comes
// after a second), nothing.
TEST_CASE("defer_accept: a connection that sends nothing is handed over only when it does") {
  HttpBackend backend("b1");
  Proxy proxy(deferYaml(backend.port(), true, "200ms"));
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(client);
  HttpReader reader(client.get());
  CHECK_FALSE(reader.response(false, 600ms).has_value());
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(waitUntil([&] { return active(proxy) == 1; }, kDeadline));
}

TEST_CASE("defer_accept: a reload that turns it off hands silent connections over at once") {
  HttpBackend backend("b1");
  Proxy proxy(deferYaml(backend.port(), true, "200ms"));
  REQUIRE(proxy.port("web") != 0);  // started, its signal handlers in place
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(deferYaml(backend.port(), false, "200ms")));
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(client);
  HttpReader reader(client.get());
  // client_header_timeout's 408: fulcrum had it at once.
  auto timed_out = reader.response(false, 800ms);
  REQUIRE(timed_out);
  CHECK(timed_out->status == 408);
}
