// A server that is gone costs clients nothing while another is left, with
// the settings an operator writes first: no health check, no
// outlier_detection block. Connect failures move on without using an
// attempt, the default rule ejects a server that keeps refusing, and
// ejection never keeps the first server back from serving.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/http_configs.h"
#include "support/json.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

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
  Proxy proxy(
      FirstConfig{{loopbackAddress(a.port()), loopbackAddress(b.port()), loopbackAddress(c.port())}}
          .yaml());
  const uint16_t port = proxy.port("web");

  // Every request tries every server (connect failures use no attempt) and
  // gets 503; five in a row eject a server.
  for (int i = 0; i < 8; ++i) {
    HttpMessage response = httpGet(port, "/down/" + std::to_string(i));
    CHECK(response.status == 503);
    CHECK(response.field("Retry-After").value_or("") == "1");
  }
  // Ejections by the default rule (no outlier_detection block is written).
  CHECK(sumSeries(scrapeSamples(proxy.adminPort()), "fulcrum_outlier_ejections_total",
                  {"reason=\"connect_default\""}) >= 1);

  // The hardest case: the server that comes back is an ejected one.
  const std::vector<std::string> ejected = ejectedServers(proxy.adminPort());
  REQUIRE_FALSE(ejected.empty());
  RecordingBackend* back = nullptr;
  for (RecordingBackend* server : {&a, &b, &c})
    if (loopbackAddress(server->port()) == ejected[0]) back = server;
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
