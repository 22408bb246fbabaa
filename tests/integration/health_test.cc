// Active health checks, outlier ejection and circuit breakers through the
// real proxy on loopback. Fake backends name themselves in X-Backend; their
// health path and their answers to real requests are switched by the test.
// Every wait is on an event (a log line, a response, /status.json) with a
// deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "support/http.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/tls_server.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// A backend whose /healthz and real answers the test can change while it runs.
struct SwitchableBackend {
  std::atomic<bool> healthy{true};
  std::atomic<int> real_status{200};
  std::atomic<int> health_probes{0};
  std::atomic<int> real_requests{0};
  std::unique_ptr<HttpBackend> http;

  explicit SwitchableBackend(const std::string& name) {
    http = std::make_unique<HttpBackend>(name, [this, name](const HttpMessage& request, int) {
      if (request.path == "/healthz") {
        ++health_probes;
        return httpResponse(healthy ? 200 : 503, healthy ? "ok" : "sick");
      }
      ++real_requests;
      return httpResponse(real_status, name, "X-Backend: " + name + "\r\n");
    });
  }
  uint16_t port() const { return http->port(); }
};

std::string fleetYaml(const std::vector<uint16_t>& ports, const std::string& upstream_extra,
                      const std::string& balance = "round_robin") {
  std::string out =
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    balance: " +
      balance + "\n" + upstream_extra + "    servers:\n";
  for (uint16_t port : ports)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  return out;
}

struct Tally {
  std::map<std::string, int> by_backend;
  std::map<int, int> by_status;
};

// `count` GETs on one keep-alive connection (a new one after a close).
Tally send(uint16_t port, int count) {
  Tally tally;
  Fd client = connectLoopback(port);
  auto reader = std::make_unique<HttpReader>(client.get());
  for (int i = 0; i < count; ++i) {
    if (!writeAll(client.get(), "GET /pay/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n"))
      break;
    auto response = reader->response();
    if (!response) {
      tally.by_status[0]++;
      client = connectLoopback(port);
      reader = std::make_unique<HttpReader>(client.get());
      continue;
    }
    tally.by_status[response->status]++;
    tally.by_backend[response->field("X-Backend").value_or("-")]++;
    if (response->field("Connection").value_or("") == "close") {
      client = connectLoopback(port);
      reader = std::make_unique<HttpReader>(client.get());
    }
  }
  return tally;
}

std::string serverLabel(uint16_t port) {
  return "server 127.0.0.1:" + std::to_string(port);
}

const std::string kHttpCheck =
    "    health_check: { type: http, path: /healthz, interval: 200ms, timeout: 150ms,\n"
    "                    rise: 2, fall: 2, jitter: 0%, initial_state: up }\n";

}  // namespace

TEST_CASE("a backend failing its health path leaves rotation and comes back when it recovers") {
  SwitchableBackend a("a"), b("b");
  Proxy proxy(fleetYaml({a.port(), b.port()}, kHttpCheck));
  uint16_t port = proxy.port("web");
  CHECK(send(port, 20).by_backend["b"] == 10);

  b.healthy = false;
  auto started = std::chrono::steady_clock::now();
  // fall * interval + timeout, with room for a loaded machine.
  REQUIRE(proxy.process().waitForText(serverLabel(b.port()) + " up -> down: 2 consecutive failures",
                                      2 * 200ms + 150ms + 3s));
  // It took two probes, not one: the second is an interval after the first
  // (less a little, as the loop's timers round to the millisecond).
  CHECK(std::chrono::steady_clock::now() - started >= 150ms);
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  Tally while_down = send(port, 20);
  CHECK(while_down.by_backend["a"] == 20);
  CHECK(while_down.by_status[200] == 20);

  b.healthy = true;
  REQUIRE(proxy.process().waitForText(serverLabel(b.port()) + " down -> up: 2 consecutive passes",
                                      2 * 200ms + 3s));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 2));
  Tally after = send(port, 20);
  CHECK(after.by_backend["b"] == 10);
  CHECK(after.by_backend["a"] == 10);
}

TEST_CASE("a server that starts down gets no traffic until its first check passes") {
  SwitchableBackend a("a"), b("b");
  b.healthy = false;
  Proxy proxy(fleetYaml({a.port(), b.port()},
                        "    health_check: { type: http, path: /healthz, interval: 200ms }\n"));
  uint16_t port = proxy.port("web");
  REQUIRE(proxy.process().waitForText(serverLabel(a.port()) + " down -> up: first check passed"));
  REQUIRE(proxy.process().waitForText(serverLabel(b.port()) + " stays down: first check failed"));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  CHECK(send(port, 10).by_backend["a"] == 10);
  CHECK(b.real_requests == 0);
}

TEST_CASE("a backend killed under load causes no 5xx, after its ejection all traffic is served") {
  auto a = std::make_unique<SwitchableBackend>("a");
  auto b = std::make_unique<SwitchableBackend>("b");
  uint16_t b_port = b->port();
  Proxy proxy(fleetYaml({a->port(), b_port},
                        "    health_check: { type: tcp, interval: 200ms, timeout: 150ms, fall: 2,"
                        " jitter: 0%, initial_state: up }\n"));
  uint16_t port = proxy.port("web");
  Tally before = send(port, 10);
  CHECK(before.by_status[200] == 10);
  b.reset();  // its port now refuses connections
  Tally during = send(port, 40);
  CHECK(during.by_status[200] == 40);  // connect failures fail over, nothing sent twice
  REQUIRE(proxy.process().waitForText(serverLabel(b_port) + " up -> down", 2 * 200ms + 3s));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  Tally after = send(port, 40);
  CHECK(after.by_status[200] == 40);
  CHECK(after.by_backend["a"] == 40);
}

TEST_CASE("outlier detection ejects a backend that answers 500 while its health check passes") {
  SwitchableBackend a("a"), b("b");
  b.real_status = 500;
  Proxy proxy(fleetYaml({a.port(), b.port()},
                        kHttpCheck +
                            "    outlier_detection: { consecutive_5xx: 3, base_ejection: 30s,"
                            " max_ejection_percent: 50 }\n"));
  uint16_t port = proxy.port("web");
  Tally first = send(port, 6);  // round robin: b answers 3 of them, all 500
  CHECK(first.by_status[500] == 3);
  REQUIRE(proxy.process().waitForText(serverLabel(b.port()) +
                                      " ejected for 30s (ejection 1): 3 consecutive 5xx"));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  Tally after = send(port, 20);
  CHECK(after.by_status[200] == 20);
  CHECK(after.by_backend["a"] == 20);
  // Its health check kept passing the whole time.
  int probes = b.health_probes;
  REQUIRE(waitUntil([&] { return b.health_probes >= probes + 2; }, 3s));
  for (const auto& line : proxy.process().lines())
    CHECK(line.find(serverLabel(b.port()) + " up -> down") == std::string::npos);
}

TEST_CASE("no usable server: 503 with Retry-After at once, never a hang") {
  SwitchableBackend a("a");
  a.healthy = false;
  Proxy proxy(
      fleetYaml({a.port()}, "    health_check: { type: http, path: /healthz, interval: 200ms }\n"));
  uint16_t port = proxy.port("web");
  REQUIRE(proxy.process().waitForText("upstream pool: no usable server (1 down"));
  Fd client = connectLoopback(port);
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  HttpReader reader(client.get());
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 503);
  CHECK(response->field("Retry-After") == "1");
  CHECK(a.real_requests == 0);
}

TEST_CASE("a TLS check passes against a TLS server and fails against a plain one") {
  TlsServer tls;
  TcpBackend plain(sayName("plain"));  // answers a ClientHello with garbage
  Proxy proxy(fleetYaml({tls.port(), plain.port()},
                        "    health_check: { type: tls, interval: 300ms, timeout: 1s,"
                        " server_name: pay.example }\n"));
  REQUIRE(proxy.process().waitForText(serverLabel(tls.port()) + " down -> up: first check passed"));
  auto failed = proxy.process().waitForText(serverLabel(plain.port()) + " stays down");
  REQUIRE(failed);
  CAPTURE(*failed);
  CHECK(failed->find("TLS handshake failed") != std::string::npos);
  // The server counts once its own side of the handshake returns, which may
  // be just after the proxy logged its pass.
  CHECK(waitUntil([&] { return tls.handshakes() >= 1; }, 5s));
  auto names = tls.serverNames();
  REQUIRE(!names.empty());
  CHECK(names.front() == "pay.example");
}
