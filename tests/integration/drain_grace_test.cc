// global.drain_grace: on SIGTERM /healthz answers 503 at once, but the
// listeners keep accepting and serving for the grace, each HTTP answer
// closing its connection, so whoever watches /healthz (keepalived, a load
// balancer) moves traffic before a connect is refused. Then the usual
// drain. Loopback only.
#include <signal.h>

#include <doctest/doctest.h>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

}  // namespace

TEST_CASE(
    "drain_grace: after SIGTERM /healthz answers 503 while new and open connections are still "
    "served, each answer closing its connection, then fulcrum stops accepting and exits 0") {
  HttpBackend backend("b1");
  // Long enough for the checks below on a loaded machine; the drain
  // itself then ends at once (nothing left open).
  Proxy proxy(
      HttpConfig{.servers = {backend.port()}, .global_extra = "  drain_grace: 5s\n"}.yaml());
  const uint16_t port = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  auto healthz = callOnce(admin, "GET", "/healthz");
  REQUIRE(healthz);
  CHECK(healthz->status == 200);

  // A keep-alive connection opened before the signal, idle at the signal.
  Fd open = connectLoopback(port);
  REQUIRE(open);
  HttpReader open_reader(open.get());
  REQUIRE(writeAll(open.get(), get("/before")));
  auto first = open_reader.response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK_FALSE(first->field("Connection"));

  proxy.process().signal(SIGTERM);
  REQUIRE(proxy.process().waitForText("/healthz answers 503; still accepting for 5s"));
  healthz = callOnce(admin, "GET", "/healthz");
  REQUIRE(healthz);
  CHECK(healthz->status == 503);

  // The idle connection was left open; its next answer closes it.
  CHECK(stillOpen(open.get()));
  REQUIRE(writeAll(open.get(), get("/during-open")));
  auto second = open_reader.response();
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->field("Connection") == "close");
  CHECK(open_reader.atEof());

  // A new connection is still accepted and served, and closed after.
  Fd fresh = connectLoopback(port);
  REQUIRE(fresh);
  HttpReader fresh_reader(fresh.get());
  REQUIRE(writeAll(fresh.get(), get("/during-new")));
  auto third = fresh_reader.response();
  REQUIRE(third);
  CHECK(third->status == 200);
  CHECK(third->field("Connection") == "close");
  CHECK(fresh_reader.atEof());
  CHECK_FALSE(proxy.process().waitForText("stopped accepting", std::chrono::milliseconds(0)));

  // After the grace: the drain as without one.
  REQUIRE(proxy.process().waitForText("stopped accepting"));
  CHECK(proxy.process().waitExit() == 0);
  CHECK_FALSE(connectLoopback(port, 2s));
  CHECK(backend.requests().size() == 3);
}

TEST_CASE("drain_grace: a second SIGTERM during the grace stops at once") {
  HttpBackend backend("b1");
  Proxy proxy(
      HttpConfig{.servers = {backend.port()}, .global_extra = "  drain_grace: 1m\n"}.yaml());
  proxy.port("web");
  proxy.process().signal(SIGTERM);
  REQUIRE(proxy.process().waitForText("still accepting for 1m"));
  proxy.process().signal(SIGTERM);
  CHECK(proxy.process().waitExit(std::chrono::seconds(10)) == 0);
  CHECK(proxy.process().waitForText("SIGTERM during drain: stopping now"));
}

TEST_CASE(
    "drain_grace: a connection whose PROXY header comes during the grace is served, and closed "
    "after its answer") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{
      .servers = {backend.port()},
      .listener_extra = "    proxy_protocol: required\n    trusted_proxies: [127.0.0.1]\n",
      .global_extra = "  drain_grace: 1m\n"}
                  .yaml());
  const uint16_t port = proxy.port("web");
  // Connected before the signal, its header not yet sent (most likely
  // accepted, waiting for it): the session that the header hands over to
  // must learn of the grace too.
  Fd early = connectLoopback(port);
  REQUIRE(early);
  proxy.process().signal(SIGTERM);
  REQUIRE(proxy.process().waitForText("still accepting for 1m"));
  Fd late = connectLoopback(port);
  REQUIRE(late);
  for (Fd* client : {&early, &late}) {
    HttpReader reader(client->get());
    REQUIRE(writeAll(client->get(),
                     "PROXY TCP4 203.0.113.7 192.0.2.10 40000 8080\r\n" + get("/behind")));
    auto answer = reader.response();
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->field("Connection") == "close");
    CHECK(reader.atEof());
  }
}
