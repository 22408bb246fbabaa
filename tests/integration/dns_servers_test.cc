// Servers from DNS through the real proxy and a real DNS server: a dnsmasq
// of the test's own on a loopback port answers from a hosts file the test
// rewrites (dnsmasq reads it again on SIGHUP), and names resolve to
// 127.0.0.x addresses where fake backends listen and name themselves.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "support/admin_api.h"
#include "support/dnsmasq.h"
#include "support/http.h"
#include "support/json.h"
#include "support/net.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

#define SKIP_WITHOUT_DNSMASQ(dns)        \
  if (!(dns).ok()) {                     \
    MESSAGE("skipped: " << (dns).why()); \
    return;                              \
  }

// The name a backend sends on a new connection through the proxy; empty
// when the proxy closed the connection without one (or refused it). No
// assertion: it also runs on a client thread.
std::string readName(uint16_t port) {
  Fd client = connectLoopback(port);
  if (!client) return "";
  std::string bytes;
  while (readExactly(client.get(), bytes, 1) && bytes.back() != '\n') {
  }
  shutdown(client.get(), SHUT_WR);
  return bytes.empty() || bytes.back() != '\n' ? "" : bytes.substr(0, bytes.size() - 1);
}

// One worker, a TCP listener "edge" to upstream "pool" whose servers are
// `servers` (YAML list lines), DNS asked of `dns`.
std::string dnsConfig(const Dnsmasq& dns, const std::string& servers,
                      const std::string& upstream_extra = "") {
  return "global:\n  workers: 1\n  admin: { listen: 127.0.0.1:0, token: " + kAdminToken +
         " }\n  resolvers: [" + dns.address() +
         "]\n"
         "listeners:\n  - { name: edge, listen: 127.0.0.1:0, protocol: tcp, upstream: pool }\n"
         "upstreams:\n  pool:\n" +
         upstream_extra + "    servers:\n" + servers;
}

// The servers[] line of pay.test on `port`, looked up every `interval`.
std::string payServer(uint16_t port, const std::string& interval) {
  return "      - { dns: 'pay.test:" + std::to_string(port) +
         "', resolve: { interval: " + interval + " } }\n";
}

// The servers of upstream "pool" on /status.json, by address.
std::map<std::string, Json> poolServers(uint16_t admin) {
  std::map<std::string, Json> out;
  auto answer = callOnce(admin, "GET", "/status.json");
  if (!answer || answer->status != 200) return out;
  const Json status = parseJson(answer->body);
  for (size_t u = 0; u < status["upstreams"].size(); ++u) {
    const Json& upstream = status["upstreams"][u];
    if (upstream["name"].str() != "pool") continue;
    for (size_t s = 0; s < upstream["servers"].size(); ++s)
      out[upstream["servers"][s]["address"].str()] = upstream["servers"][s];
  }
  return out;
}

std::set<std::string> addressesOf(const std::map<std::string, Json>& servers) {
  std::set<std::string> out;
  for (const auto& [address, server] : servers) out.insert(address);
  return out;
}

bool waitForServers(uint16_t admin, const std::set<std::string>& want) {
  return pollUntil([&] { return addressesOf(poolServers(admin)) == want; }, kDeadline, 10ms, 200ms);
}

double lookups(uint16_t admin, const std::string& result) {
  return sumSeries(scrapeSamples(admin), "fulcrum_dns_resolutions_total",
                   {"upstream=\"pool\"", "result=\"" + result + "\""});
}

// Backends "b2" on 127.0.0.2 and "b3" on 127.0.0.3, on one port (a dns:
// entry names one port for every address).
struct PairOnOnePort {
  TcpBackend b2{sayName("b2"), "127.0.0.2", 0};
  uint16_t port = b2.port();
  TcpBackend b3{sayName("b3"), "127.0.0.3", port};
};

// The other 127.0.0.x addresses must exist (Linux routes 127/8 to lo).
std::string at(const std::string& ip, uint16_t port) {
  return ip + ":" + std::to_string(port);
}

}  // namespace

TEST_CASE("dns servers: an added address gets traffic and a removed one drains, without a reload") {
  Dnsmasq dns("127.0.0.2 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  const PairOnOnePort backends;
  const uint16_t port = backends.port;
  Proxy proxy(dnsConfig(dns, payServer(port, "200ms")));
  const uint16_t edge = proxy.port("edge");
  const uint16_t admin = proxy.adminPort();
  REQUIRE(waitForServers(admin, {at("127.0.0.2", port)}));
  CHECK(readName(edge) == "b2");
  CHECK(poolServers(admin)[at("127.0.0.2", port)]["dns"].str() == "pay.test");

  REQUIRE(dns.setHosts("127.0.0.2 pay.test\n127.0.0.3 pay.test\n"));
  REQUIRE(waitForServers(admin, {at("127.0.0.2", port), at("127.0.0.3", port)}));
  std::map<std::string, int> seen;
  for (int i = 0; i < 6; ++i) seen[readName(edge)]++;
  CHECK(seen["b2"] == 3);
  CHECK(seen["b3"] == 3);

  // A connection open to b2 when b2's record goes keeps going.
  Fd open_to_b2;
  for (int i = 0; i < 4 && !open_to_b2; ++i) {
    Fd client = connectLoopback(edge);
    std::string line;
    while (readExactly(client.get(), line, 1) && line.back() != '\n') {
    }
    if (line == "b2\n") open_to_b2 = std::move(client);
  }
  REQUIRE(open_to_b2);
  REQUIRE(dns.setHosts("127.0.0.3 pay.test\n"));
  REQUIRE(waitForServers(admin, {at("127.0.0.3", port)}));
  for (int i = 0; i < 6; ++i) CHECK(readName(edge) == "b3");
  CHECK(stillOpen(open_to_b2.get()));

  const auto metrics = scrapeSamples(admin);
  CHECK(sumSeries(metrics, "fulcrum_config_reloads_total") == 0);
  CHECK(sumSeries(metrics, "fulcrum_dns_resolutions_total",
                  {"upstream=\"pool\"", "result=\"success\""}) >= 3);
  CHECK(proxy.process().waitForText("dns: upstream pool: pay.test -> 127.0.0.3:" +
                                    std::to_string(port)));
}

TEST_CASE("dns servers: no connection fails while the records change under load") {
  Dnsmasq dns("127.0.0.2 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  const PairOnOnePort backends;
  Proxy proxy(dnsConfig(dns, payServer(backends.port, "100ms")));
  const uint16_t edge = proxy.port("edge");
  const uint16_t admin = proxy.adminPort();
  REQUIRE(waitForServers(admin, {at("127.0.0.2", backends.port)}));
  std::atomic<bool> stop{false};
  std::atomic<int> made{0};
  std::atomic<int> failed{0};
  // Bounded: 2000 connections or until the changes are done.
  std::thread client([&] {
    for (int i = 0; i < 2000 && !stop; ++i) {
      const std::string name = readName(edge);
      ++made;
      failed += name != "b2" && name != "b3";
    }
  });
  const std::vector<std::pair<std::string, std::set<std::string>>> steps{
      {"127.0.0.2 pay.test\n127.0.0.3 pay.test\n",
       {at("127.0.0.2", backends.port), at("127.0.0.3", backends.port)}},
      {"127.0.0.3 pay.test\n", {at("127.0.0.3", backends.port)}},
      {"127.0.0.2 pay.test\n", {at("127.0.0.2", backends.port)}},
      {"127.0.0.2 pay.test\n127.0.0.3 pay.test\n",
       {at("127.0.0.2", backends.port), at("127.0.0.3", backends.port)}}};
  for (const auto& [hosts, servers] : steps) {
    CHECK(dns.setHosts(hosts));
    CHECK(waitForServers(admin, servers));
  }
  stop = true;
  client.join();
  CHECK(made > 0);
  CHECK(failed == 0);
  CHECK(proxy.process().running());
}

TEST_CASE("dns servers: health and drain state of an address that stays is kept") {
  Dnsmasq dns("127.0.0.2 pay.test\n127.0.0.3 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  TcpBackend b2(sayName("b2"), "127.0.0.2", 0);
  const uint16_t port = b2.port();
  TcpBackend b4(sayName("b4"), "127.0.0.4", port);
  // Nothing listens on 127.0.0.3: its checks fail.
  Proxy proxy(dnsConfig(dns, payServer(port, "200ms"),
                        "    health_check: { type: tcp, interval: 100ms, rise: 1, fall: 1 }\n"));
  const uint16_t admin = proxy.adminPort();
  const std::string down = at("127.0.0.3", port);
  const std::string drained = at("127.0.0.2", port);
  REQUIRE(waitForServers(admin, {drained, down}));
  REQUIRE(pollUntil([&] { return poolServers(admin)[down]["state"].str() == "down"; }, kDeadline,
                    10ms, 200ms));
  REQUIRE(pollUntil([&] { return poolServers(admin)[drained]["state"].str() == "up"; }, kDeadline,
                    10ms, 200ms));
  auto answer = adminPost(admin, "/api/upstreams/pool/servers/" + drained + "/drain");
  REQUIRE(answer);
  REQUIRE(answer->status == 200);
  const std::string went_down = poolServers(admin)[down]["last_transition"].str();
  CHECK(!went_down.empty());

  REQUIRE(dns.setHosts("127.0.0.2 pay.test\n127.0.0.3 pay.test\n127.0.0.4 pay.test\n"));
  REQUIRE(waitForServers(admin, {drained, down, at("127.0.0.4", port)}));
  // The new generation starts from the carried state: not "not checked yet".
  auto servers = poolServers(admin);
  CHECK(servers[down]["state"].str() == "down");
  CHECK(servers[down]["last_transition"].str() == went_down);
  CHECK(servers[drained]["state"].str() == "drained");
  CHECK(servers[drained]["admin_drain"].boolean());
  // Only the new server takes connections.
  REQUIRE(pollUntil([&] { return poolServers(admin)[at("127.0.0.4", port)]["usable"].boolean(); },
                    kDeadline, 10ms, 200ms));
  for (int i = 0; i < 4; ++i) CHECK(readName(proxy.port("edge")) == "b4");
}

TEST_CASE("dns servers: an http check asks an address from dns: for its name") {
  HttpBackend backend("b1");
  Dnsmasq dns("127.0.0.1 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  Proxy proxy(dnsConfig(dns, payServer(backend.port(), "1s"),
                        "    health_check: { type: http, path: /healthz, interval: 100ms }\n"));
  const std::string address = at("127.0.0.1", backend.port());
  REQUIRE(waitForServers(proxy.adminPort(), {address}));
  REQUIRE(waitUntil([&] { return !backend.requests().empty(); }, kDeadline));
  const HttpMessage probe = backend.requests().front();
  CHECK(probe.path == "/healthz");
  CHECK(probe.field("Host") == "pay.test:" + std::to_string(backend.port()));
}

TEST_CASE("dns servers: a failed lookup keeps the last servers and is counted") {
  Dnsmasq dns("127.0.0.2 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  TcpBackend b2(sayName("b2"), "127.0.0.2", 0);
  Proxy proxy(dnsConfig(dns, payServer(b2.port(), "100ms")));
  const uint16_t admin = proxy.adminPort();
  REQUIRE(waitForServers(admin, {at("127.0.0.2", b2.port())}));
  CHECK(lookups(admin, "failure") == 0);
  dns.stop();
  REQUIRE(pollUntil([&] { return lookups(admin, "failure") >= 2; }, kDeadline, 50ms, 200ms));
  CHECK(addressesOf(poolServers(admin)) == std::set<std::string>{at("127.0.0.2", b2.port())});
  CHECK(readName(proxy.port("edge")) == "b2");
  // Logged once when the lookups start failing, not at every try.
  int warnings = 0;
  for (const auto& line : proxy.process().lines())
    warnings += line.find("keeping the 1 server(s) of the last answer") != std::string::npos;
  CHECK(warnings == 1);
}

TEST_CASE("dns servers: an upstream has no server until its name resolves") {
  Dnsmasq dns("");
  SKIP_WITHOUT_DNSMASQ(dns);
  TcpBackend b2(sayName("b2"), "127.0.0.2", 0);
  Proxy proxy(dnsConfig(dns, payServer(b2.port(), "100ms")));
  const uint16_t admin = proxy.adminPort();
  REQUIRE(pollUntil([&] { return lookups(admin, "failure") + lookups(admin, "not_found") >= 1; },
                    kDeadline, 20ms, 200ms));
  CHECK(poolServers(admin).empty());
  CHECK(readName(proxy.port("edge")) == "");  // closed: no server
  REQUIRE(dns.setHosts("127.0.0.2 pay.test\n"));
  REQUIRE(waitForServers(admin, {at("127.0.0.2", b2.port())}));
  CHECK(readName(proxy.port("edge")) == "b2");
}

TEST_CASE("dns servers: a reload keeps the last answers without asking DNS again") {
  Dnsmasq dns("127.0.0.2 pay.test\n");
  SKIP_WITHOUT_DNSMASQ(dns);
  const PairOnOnePort backends;
  const uint16_t port = backends.port;
  // One lookup at start: the next one is a minute away.
  Proxy proxy(dnsConfig(dns, payServer(port, "60s")));
  const uint16_t admin = proxy.adminPort();
  REQUIRE(waitForServers(admin, {at("127.0.0.2", port)}));
  dns.stop();
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(dnsConfig(
      dns, payServer(port, "60s") + "      - { address: '" + at("127.0.0.3", port) + "' }\n")));
  // The new generation starts with the name's last answer beside the
  // written server: nothing waits for DNS.
  CHECK(addressesOf(poolServers(admin)) ==
        std::set<std::string>{at("127.0.0.2", port), at("127.0.0.3", port)});
  std::map<std::string, int> seen;
  for (int i = 0; i < 4; ++i) seen[readName(proxy.port("edge"))]++;
  CHECK(seen["b2"] == 2);
  CHECK(seen["b3"] == 2);
  CHECK(lookups(admin, "failure") == 0);
}

TEST_CASE("dns servers: srv records give ports, weights and backups") {
  TcpBackend heavy(sayName("heavy"));
  TcpBackend light(sayName("light"));
  TcpBackend spare(sayName("spare"));
  // Priority 0 are the primaries, priority 1 a backup.
  Dnsmasq dns("127.0.0.1 heavy.test light.test spare.test\n",
              {"_pay._tcp.test,heavy.test," + std::to_string(heavy.port()) + ",0,30",
               "_pay._tcp.test,light.test," + std::to_string(light.port()) + ",0,10",
               "_pay._tcp.test,spare.test," + std::to_string(spare.port()) + ",1,10"});
  SKIP_WITHOUT_DNSMASQ(dns);
  Proxy proxy(
      dnsConfig(dns, "      - { srv: _pay._tcp.test }\n", "    balance: weighted_round_robin\n"));
  const uint16_t admin = proxy.adminPort();
  const std::string h = at("127.0.0.1", heavy.port());
  const std::string l = at("127.0.0.1", light.port());
  const std::string s = at("127.0.0.1", spare.port());
  REQUIRE(waitForServers(admin, {h, l, s}));
  auto servers = poolServers(admin);
  CHECK(servers[h]["weight"].num() == 30);
  CHECK(servers[l]["weight"].num() == 10);
  CHECK(servers[s]["weight"].num() == 10);
  CHECK(!servers[h]["backup"].boolean());
  CHECK(!servers[l]["backup"].boolean());
  CHECK(servers[s]["backup"].boolean());
  CHECK(servers[h]["dns"].str() == "_pay._tcp.test");
  std::map<std::string, int> seen;
  for (int i = 0; i < 8; ++i) seen[readName(proxy.port("edge"))]++;
  CHECK(seen["heavy"] == 6);
  CHECK(seen["light"] == 2);
  CHECK(seen["spare"] == 0);
}

TEST_CASE("dns servers: fulcrum -t passes with a name that does not resolve") {
  TempDir dir;
  const std::string path = dir.write(
      "dns.yaml",
      "global:\n  resolvers: ['127.0.0.1:1']\n"
      "listeners:\n  - { name: edge, listen: 127.0.0.1:0, protocol: tcp, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n"
      "      - { dns: 'nowhere.invalid:8080' }\n      - { srv: _x._tcp.nowhere.invalid }\n");
  CommandResult result = runFulcrum({"-t", "-c", path});
  CHECK(result.status == 0);
  CHECK(result.output.find("configuration OK") != std::string::npos);
}
