// A server that is gone costs clients nothing while another is left, with
// the settings an operator writes first: no health check, no
// outlier_detection block. Connect failures move on without using an
// attempt, the default rule ejects a server that keeps refusing, and
// ejection never keeps the first server back from serving.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/json.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

std::string fleetYaml(const std::vector<const RecordingBackend*>& servers) {
  std::string out =
      "global: { workers: 1, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    balance: round_robin\n"
      "    timeouts: { connect: 1s, response: 3s }\n"
      "    retries: { attempts: 2 }\n"
      "    servers:\n";
  for (const auto* server : servers)
    out += "      - { address: 127.0.0.1:" + std::to_string(server->port()) + " }\n";
  return out;
}

// The servers /status.json calls ejected, by address.
std::vector<std::string> ejectedServers(uint16_t admin) {
  std::vector<std::string> out;
  const Json status = parseJson(httpGet(admin, "/status.json").body);
  const Json& servers = status["upstreams"][0]["servers"];
  for (size_t i = 0; i < servers.size(); ++i)
    if (servers[i]["ejected"].boolean()) out.push_back(servers[i]["address"].str());
  return out;
}

}  // namespace

TEST_CASE("failover: with every server refusing, the first one back serves at once") {
  RecordingBackend a("a", Behaviour::Refuse), b("b", Behaviour::Refuse), c("c", Behaviour::Refuse);
  const std::vector<const RecordingBackend*> fleet{&a, &b, &c};
  Proxy proxy(fleetYaml(fleet));
  const uint16_t port = proxy.port("web");

  // Every request tries every server (connect failures use no attempt) and
  // gets 503; five in a row eject a server.
  for (int i = 0; i < 8; ++i) {
    HttpMessage response = httpGet(port, "/down/" + std::to_string(i));
    CHECK(response.status == 503);
    CHECK(response.field("Retry-After").value_or("") == "1");
  }
  const std::string metrics = httpGet(proxy.adminPort(), "/metrics").body;
  double ejections = 0;
  for (const auto& [series, value] : samples(metrics))
    if (series.rfind("fulcrum_outlier_ejections_total{", 0) == 0 &&
        series.find("reason=\"connect_default\"") != std::string::npos)
      ejections += value;
  CHECK(ejections >= 1);

  // The hardest case: the server that comes back is an ejected one.
  const std::vector<std::string> ejected = ejectedServers(proxy.adminPort());
  REQUIRE_FALSE(ejected.empty());
  RecordingBackend* back = nullptr;
  for (RecordingBackend* server : {&a, &b, &c})
    if ("127.0.0.1:" + std::to_string(server->port()) == ejected[0]) back = server;
  REQUIRE(back != nullptr);
  REQUIRE(back->setBehaviour(Behaviour::Answer));
  const auto restarted = std::chrono::steady_clock::now();

  // At once, ejection or not: the request fails to connect to the other
  // two, and then tries the ejected server.
  HttpMessage first = httpGet(port, "/back/first");
  CHECK(first.status == 200);
  CHECK(first.field("X-Backend").value_or("") == back->name());

  int in_a_row = 0;
  int sent = 0;
  while (in_a_row < 10 && std::chrono::steady_clock::now() - restarted < 5s && sent < 200000) {
    HttpMessage response = httpGet(port, "/back/" + std::to_string(sent++));
    in_a_row = response.status == 200 ? in_a_row + 1 : 0;
  }
  CHECK(in_a_row == 10);
  CHECK(std::chrono::steady_clock::now() - restarted < 5s);
}
