// /metrics and the admin API through the real proxy: counters move as
// traffic flows, drain/enable through the API changes who gets picked, and
// the bearer token is enforced. Every wait is on an answer, a log line or
// /status.json.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

std::string scrape(Proxy& proxy) {
  auto response = callOnce(proxy.adminPort(), "GET", "/metrics");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return response->body;
}

std::string yaml(const std::vector<uint16_t>& ports, const std::string& extra, int workers = 2) {
  std::string out =
      "global: { workers: " + std::to_string(workers) +
      ", log: { level: debug }, admin: { listen: 127.0.0.1:0, token: " + kAdminToken +
      " } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n" +
      extra + "    servers:\n";
  for (uint16_t port : ports)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  return out;
}

std::map<std::string, int> get(uint16_t port, int count) {
  std::map<std::string, int> seen;
  for (int i = 0; i < count; ++i) {
    auto response = callOnce(port, "GET", "/pay/" + std::to_string(i));
    if (!response) {
      seen["none"]++;
      continue;
    }
    seen[response->status == 200 ? response->field("X-Backend").value_or("?")
                                 : std::to_string(response->status)]++;
  }
  return seen;
}

HttpBackend::Handler named(const std::string& name, int status = 200) {
  return [name, status](const HttpMessage&, int) {
    return httpResponse(status, name, "X-Backend: " + name + "\r\n");
  };
}

}  // namespace

TEST_CASE("metrics: counters move as requests, failures and checks happen") {
  HttpBackend a("a", named("a")), b("b", named("b", 500));
  uint16_t refused_port = 0;
  Fd refusing = refusingPort(refused_port);
  Proxy proxy(yaml({a.port(), b.port(), refused_port},
                   "    health_check: { type: tcp, interval: 200ms, initial_state: up, fall: 1 }\n"
                   "    outlier_detection: { consecutive_5xx: 2, base_ejection: 30s,"
                   " max_ejection_percent: 50 }\n"
                   "    circuit_breaker: { max_requests: 100 }\n"));
  uint16_t port = proxy.port("web");
  std::string before = scrape(proxy);
  CHECK(before.find("fulcrum_build_info{version=\"0.1.0\",started=\"20") != std::string::npos);
  CHECK(sample(before, "fulcrum_upstream_servers{upstream=\"pool\"}") == 3);

  REQUIRE(proxy.process().waitForText(":" + std::to_string(refused_port) + " up -> down"));
  REQUIRE(waitForHostSetUpdates(proxy, 1, 1));
  auto seen = get(port, 12);  // a and b share them until b is ejected
  REQUIRE(proxy.process().waitForText("ejected for 30s (ejection 1): 2 consecutive 5xx"));

  std::string after = scrape(proxy);
  const std::string a_label =
      "upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(a.port()) + "\"";
  const std::string b_label =
      "upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(b.port()) + "\"";
  const std::string r_label =
      "upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(refused_port) + "\"";
  CHECK(sample(after,
               "fulcrum_http_requests_total{listener=\"web\",upstream=\"pool\",code=\"200\"}") ==
        seen["a"]);
  CHECK(sample(after,
               "fulcrum_http_requests_total{listener=\"web\",upstream=\"pool\",code=\"500\"}") ==
        seen["500"]);
  CHECK(seen["500"] >= 2);  // more if a worker picked b before it heard of the ejection
  CHECK(sample(after, "fulcrum_upstream_requests_total{" + b_label + ",code=\"500\"}") ==
        seen["500"]);
  CHECK(sample(after, "fulcrum_upstream_response_seconds_count{" + a_label + "}") == seen["a"]);
  CHECK(sample(after, "fulcrum_outlier_ejections_total{" + b_label + ",reason=\"5xx\"}") == 1);
  CHECK(sample(after, "fulcrum_upstream_server_up{" + b_label + "}") == 0);
  CHECK(sample(after, "fulcrum_upstream_server_up{" + r_label + "}") == 0);
  CHECK(sample(after, "fulcrum_upstream_server_up{" + a_label + "}") == 1);
  CHECK(sample(after, "fulcrum_upstream_healthy_servers{upstream=\"pool\"}") == 1);
  CHECK(sample(after, "fulcrum_health_checks_total{" + r_label + ",result=\"failed\"}") >= 1);
  CHECK(sample(after, "fulcrum_health_checks_total{" + a_label + ",result=\"passed\"}") >= 1);
  CHECK(sample(after, "fulcrum_downstream_connections_total{listener=\"web\"}") == 12);
  CHECK(sample(
            after,
            "fulcrum_circuit_breaker_rejections_total{upstream=\"pool\",limit=\"max_requests\"}") ==
        0);
}

TEST_CASE("metrics: connect failures and breaker rejections are counted") {
  uint16_t refused_port = 0;
  Fd refusing = refusingPort(refused_port);
  Proxy proxy(yaml({refused_port},
                   "    circuit_breaker: { max_connections: 1, max_pending: 1,"
                   " pending_timeout: 100ms }\n"));
  uint16_t port = proxy.port("web");
  auto seen = get(port, 3);
  CHECK(seen["503"] == 3);  // the only server refuses: no server could be reached
  std::string metrics = scrape(proxy);
  const std::string label =
      "upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(refused_port) + "\"";
  CHECK(sample(metrics, "fulcrum_upstream_connect_failures_total{" + label + "}") == 3);
  CHECK(sample(metrics,
               "fulcrum_http_requests_total{listener=\"web\",upstream=\"pool\",code=\"503\"}") ==
        3);
}

TEST_CASE("admin api: drain and enable change picks, the token is enforced") {
  HttpBackend a("a", named("a")), b("b", named("b"));
  Proxy proxy(yaml({a.port(), b.port()}, "    balance: round_robin\n", 1));
  uint16_t port = proxy.port("web");
  uint16_t admin = proxy.adminPort();
  const std::string drain_b =
      "/api/upstreams/pool/servers/127.0.0.1:" + std::to_string(b.port()) + "/drain";
  const std::string auth = adminApiFields();

  auto no_token = callOnce(admin, "POST", drain_b);
  REQUIRE(no_token);
  CHECK(no_token->status == 401);
  auto wrong = callOnce(admin, "POST", drain_b, adminApiFields("not-the-token-at-all"));
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto both = get(port, 10);
  CHECK(both["b"] == 5);  // still in rotation: nothing changed

  auto drained = callOnce(admin, "POST", drain_b, auth);
  REQUIRE(drained);
  CHECK(drained->status == 200);
  CHECK(drained->body.find("\"admin_drain\":true") != std::string::npos);
  REQUIRE(proxy.process().waitForText("drained by the admin API"));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  CHECK(get(port, 10)["a"] == 10);

  auto status = callOnce(admin, "GET", "/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK(status->body.find("127.0.0.1:" + std::to_string(a.port())) != std::string::npos);
  CHECK(status->body.find("127.0.0.1:" + std::to_string(b.port())) != std::string::npos);
  auto json = callOnce(admin, "GET", "/status.json");
  REQUIRE(json);
  CHECK(json->body.find("\"state\":\"drained\"") != std::string::npos);

  const std::string enable_b =
      "/api/upstreams/pool/servers/127.0.0.1:" + std::to_string(b.port()) + "/enable";
  auto enabled = callOnce(admin, "POST", enable_b, auth);
  REQUIRE(enabled);
  CHECK(enabled->status == 200);
  REQUIRE(waitForHostSetUpdates(proxy, 0, 2));
  CHECK(get(port, 10)["b"] == 5);

  auto unknown = callOnce(admin, "POST", "/api/upstreams/pool/servers/10.9.9.9:1/drain", auth);
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
}

TEST_CASE("admin: /healthz answers 503 while draining") {
  Gate gate;
  HttpBackend slow("slow", [&gate](const HttpMessage&, int) {
    gate.wait();
    return httpResponse(200, "late");
  });
  Proxy proxy(yaml({slow.port()}, "", 1));
  uint16_t admin = proxy.adminPort();
  auto serving = callOnce(admin, "GET", "/healthz");
  REQUIRE(serving);
  CHECK(serving->status == 200);
  // A request in flight keeps the drain going long enough to ask.
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(writeAll(client.get(), "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));
  proxy.process().signal(SIGTERM);
  REQUIRE(proxy.process().waitForText("stopped accepting"));
  auto draining = callOnce(admin, "GET", "/healthz");
  REQUIRE(draining);
  CHECK(draining->status == 503);
  gate.release();
  HttpReader reader(client.get());
  auto late = reader.response();
  REQUIRE(late);
  CHECK(late->status == 200);
  CHECK(proxy.process().waitExit() == 0);
}
