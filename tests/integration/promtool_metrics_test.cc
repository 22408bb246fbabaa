// /metrics of the real proxy after real traffic (200s, a 502 from a server
// that answers garbage, 503s from a server that refuses connections and from
// the circuit breaker, health checks), checked by Prometheus' own linter:
// `promtool check metrics` must accept the text as served, plain and
// gzip-compressed. The request series and the histograms' +Inf buckets are
// checked against the traffic. promtool is a required tool here (Debian
// package prometheus, which CI installs from .ci/packages-test.txt): without it
// the test fails.
#include <doctest/doctest.h>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/process.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// Requests to "/hold" wait at the gate until the test releases it.
HttpBackend::Handler holding(Gate& gate, const std::string& name) {
  return [&gate, name](const HttpMessage& request, int) {
    if (request.path == "/hold") gate.wait();
    return httpResponse(200, name, "X-Backend: " + name + "\r\n");
  };
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("promtool: /metrics after real traffic passes promtool check metrics") {
  const auto promtool = findProgram("promtool");
  REQUIRE_MESSAGE(
      promtool.has_value(),
      "promtool is not installed: this test needs Prometheus' promtool "
      "(Debian: apt-get install prometheus; CI installs it from .ci/packages-test.txt)");

  Gate gate;
  HttpBackend a("a", holding(gate, "a"));
  HttpBackend b("b", holding(gate, "b"));
  uint16_t dead_port = 0;
  Fd dead = refusingPort(dead_port);
  const std::string dead_label = "127.0.0.1:" + std::to_string(dead_port);
  TcpBackend garbage([](int fd) {
    HttpReader reader(fd);
    if (reader.request()) writeAll(fd, "SMTP ready\r\n\r\n");
  });
  Proxy proxy(
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n"
      "  - name: web\n    listen: 127.0.0.1:0\n    protocol: http\n"
      "    routes:\n"
      "      - { match: { path_prefix: /dead/ }, upstream: dead }\n"
      "      - { match: { path_prefix: /broken/ }, upstream: broken }\n"
      "    upstream: pool\n"
      "upstreams:\n"
      "  pool:\n"
      "    health_check: { type: tcp, interval: 200ms }\n"
      "    circuit_breaker: { max_requests: 1 }\n"
      "    servers:\n"
      "      - { name: a, address: 127.0.0.1:" +
      std::to_string(a.port()) +
      " }\n"
      "      - { name: b, address: 127.0.0.1:" +
      std::to_string(b.port()) +
      " }\n"
      "  dead:\n"
      "    servers:\n"
      "      - { address: " +
      dead_label +
      " }\n"
      "  broken:\n"
      "    servers:\n"
      "      - { name: smtp, address: 127.0.0.1:" +
      std::to_string(garbage.port()) + " }\n");
  const uint16_t port = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  REQUIRE(proxy.process().waitForText("server a down -> up: first check passed"));
  REQUIRE(proxy.process().waitForText("server b down -> up: first check passed"));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 2));

  for (int i = 0; i < 6; ++i) CHECK(httpGet(port, "/pay/" + std::to_string(i)).status == 200);
  Pending held(port, "/hold", "Connection: close\r\n");
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 10s));
  HttpMessage refused = httpGet(port, "/pay/over-the-limit");  // max_requests: 1 is taken
  CHECK(refused.status == 503);
  gate.release();
  auto held_answer = held.response();
  REQUIRE(held_answer);
  CHECK(held_answer->status == 200);
  for (int i = 0; i < 2; ++i) CHECK(httpGet(port, "/dead/" + std::to_string(i)).status == 503);
  for (int i = 0; i < 3; ++i) CHECK(httpGet(port, "/broken/" + std::to_string(i)).status == 502);

  // Counters are merged from the worker when scraped; the last answers may
  // be counted a moment after the client has read them.
  const std::string ok_series =
      R"(fulcrum_http_requests_total{listener="web",upstream="pool",code="200"})";
  const std::string refused_series =
      R"(fulcrum_http_requests_total{listener="web",upstream="dead",code="503"})";
  const std::string bad_gateway_series =
      R"(fulcrum_http_requests_total{listener="web",upstream="broken",code="502"})";
  std::string text;
  REQUIRE(waitUntil(
      [&] {
        HttpMessage scraped = httpGet(admin, "/metrics");
        text = scraped.body;
        return sample(text, ok_series) == 7.0 && sample(text, refused_series) == 2.0 &&
               sample(text, bad_gateway_series) == 3.0;
      },
      10s));

  HttpMessage plain = httpGet(admin, "/metrics");
  CHECK(plain.status == 200);
  CHECK(plain.field("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK_FALSE(plain.field("Content-Encoding").has_value());
  text = plain.body;
  CAPTURE(text);

  TempDir dir;
  requirePromtoolAccepts(*promtool, dir, "plain.prom", text);

  HttpMessage compressed = httpGet(admin, "/metrics", "Accept-Encoding: gzip\r\n");
  CHECK(compressed.status == 200);
  CHECK(compressed.field("Content-Encoding") == "gzip");
  CHECK(compressed.field("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const std::string unzipped = gunzip(compressed.body);
  CHECK(sample(unzipped, ok_series) == 7.0);
  requirePromtoolAccepts(*promtool, dir, "gunzipped.prom", unzipped);

  // What the client was sent, by upstream and status.
  CHECK(sample(text, ok_series) == 7.0);
  CHECK(sample(text, R"(fulcrum_http_requests_total{listener="web",upstream="pool",code="503"})") ==
        1.0);
  CHECK(sample(text, refused_series) == 2.0);
  CHECK(sample(text, bad_gateway_series) == 3.0);
  CHECK(
      sample(text,
             R"(fulcrum_circuit_breaker_rejections_total{upstream="pool",limit="max_requests"})") ==
      1.0);
  CHECK(sample(text, R"(fulcrum_upstream_connect_failures_total{upstream="dead",server=")" +
                         dead_label + "\"}") == 2.0);
  for (const char* server : {"a", "b"}) {
    CAPTURE(server);
    const std::string labels = R"({upstream="pool",server=")" + std::string(server) + "\"";
    CHECK(
        sample(text, "fulcrum_upstream_requests_total" + labels + R"(,code="200"})").value_or(0) >=
        3.0);
    CHECK(
        sample(text, "fulcrum_health_checks_total" + labels + R"(,result="passed"})").value_or(0) >=
        1.0);
  }

  // Every histogram's +Inf bucket is its _count; the pool's counts add up to
  // the 7 responses its servers sent.
  int histograms = 0;
  double pool_responses = 0;
  const std::string bucket = "fulcrum_upstream_response_seconds_bucket{";
  const std::string infinity = ",le=\"+Inf\"}";
  for (const std::string& line : lines(text)) {
    if (line.rfind(bucket, 0) != 0) continue;
    const size_t inf = line.find(infinity);
    if (inf == std::string::npos) continue;
    const std::string labels = line.substr(bucket.size(), inf - bucket.size());
    CAPTURE(line);
    auto in_inf = sample(text, bucket + labels + infinity);
    auto count = sample(text, "fulcrum_upstream_response_seconds_count{" + labels + "}");
    REQUIRE(in_inf);
    REQUIRE(count);
    CHECK(*in_inf == *count);
    if (labels.rfind(R"(upstream="pool",)", 0) == 0) pool_responses += *count;
    ++histograms;
  }
  CHECK(histograms == 4);  // a, b, the refusing and the garbage server
  CHECK(pool_responses == 7.0);
}
