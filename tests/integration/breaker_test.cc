// Circuit breakers through the real proxy: past max_requests and
// max_pending an HTTP request gets 503 with Retry-After at once, a request
// over max_connections waits for a connection up to pending_timeout, and a
// TCP connection over max_connections is closed at once. Backends hold
// their answers until the test lets them go, so the counts are exact.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>

#include "support/http.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

struct HeldBackend {
  Gate gate;
  std::atomic<int> requests{0};
  std::unique_ptr<HttpBackend> http;
  HeldBackend() {
    http = std::make_unique<HttpBackend>("held", [this](const HttpMessage& request, int) {
      ++requests;
      if (request.path != "/fast") gate.wait();
      return httpResponse(200, "done " + request.path);
    });
  }
  ~HeldBackend() { gate.release(); }
};

std::string breakerYaml(uint16_t port, const std::string& breaker) {
  return "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
         "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
         "upstreams:\n  pool:\n    circuit_breaker: " +
         breaker + "\n    servers:\n      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
}

}  // namespace

TEST_CASE("breaker: past max_requests a request gets 503 with Retry-After at once") {
  HeldBackend backend;
  Proxy proxy(breakerYaml(backend.http->port(), "{ max_requests: 2 }"));
  uint16_t port = proxy.port("web");
  Pending first(port, "/slow/1"), second(port, "/slow/2");
  REQUIRE(waitUntil([&] { return backend.gate.waiting() == 2; }, 5s));

  Pending third(port, "/fast");
  auto refused = third.response();
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->field("Retry-After") == "1");
  CHECK(backend.requests == 2);  // the third never reached the server
  CHECK(proxy.process().waitForText("circuit breaker: max_requests (2) reached for upstream pool"));

  backend.gate.release();
  CHECK(first.response()->status == 200);
  CHECK(second.response()->status == 200);
  Pending fourth(port, "/fast");  // room again
  CHECK(fourth.response()->status == 200);
}

TEST_CASE("breaker: over max_connections a request waits for a freed connection") {
  HeldBackend backend;
  Proxy proxy(breakerYaml(backend.http->port(),
                          "{ max_connections: 1, max_pending: 1, pending_timeout: 5s }"));
  uint16_t port = proxy.port("web");
  Pending holder(port, "/slow/1");
  REQUIRE(waitUntil([&] { return backend.gate.waiting() == 1; }, 5s));
  Pending waiter(port, "/fast");  // queued: the one connection is busy
  REQUIRE(proxy.process().waitForText("waits for a connection to upstream pool"));

  Pending refused(port, "/fast");  // a second one would be over max_pending
  auto answer = refused.response();
  REQUIRE(answer);
  CHECK(answer->status == 503);
  CHECK(answer->field("Retry-After") == "1");

  backend.gate.release();
  auto held = holder.response();
  REQUIRE(held);
  CHECK(held->status == 200);
  auto served = waiter.response();  // on the connection the first one gave back
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->body == "done /fast");
  CHECK(backend.http->connections() == 1);
}

TEST_CASE("breaker: a request queued past pending_timeout gets 503") {
  HeldBackend backend;
  Proxy proxy(breakerYaml(backend.http->port(),
                          "{ max_connections: 1, max_pending: 4, pending_timeout: 300ms }"));
  uint16_t port = proxy.port("web");
  Pending holder(port, "/slow/1");
  REQUIRE(waitUntil([&] { return backend.gate.waiting() == 1; }, 5s));
  auto started = std::chrono::steady_clock::now();
  Pending waiter(port, "/fast");
  auto answer = waiter.response();
  REQUIRE(answer);
  CHECK(answer->status == 503);
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK(proxy.process().waitForText("within 300ms (pending_timeout)"));
  CHECK(backend.requests == 1);
}

TEST_CASE("breaker: a tcp connection over max_connections is closed at once") {
  TcpBackend server(sayName("ledger"));
  Proxy proxy(
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: db, listen: 127.0.0.1:0, protocol: tcp, upstream: ledger }\n"
      "upstreams:\n  ledger:\n    circuit_breaker: { max_connections: 1 }\n"
      "    servers:\n      - { address: 127.0.0.1:" +
      std::to_string(server.port()) + " }\n");
  uint16_t port = proxy.port("db");
  Fd first = connectLoopback(port);
  std::string greeting;
  REQUIRE(readExactly(first.get(), greeting, 7));
  CHECK(greeting == "ledger\n");

  Fd second = connectLoopback(port);
  CHECK(closedByPeer(second.get()));
  CHECK(server.accepted() == 1);
  CHECK(proxy.process().waitForText(
      "circuit breaker: max_connections (1) reached for upstream ledger"));

  first = Fd();  // gives its unit back when the proxy sees the close
  bool served = waitUntil(
      [&] {
        Fd third = connectLoopback(port);
        std::string name;
        return readExactly(third.get(), name, 7, 500ms) && name == "ledger\n";
      },
      5s);
  CHECK(served);
}
