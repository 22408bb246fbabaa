// The same pick on every instance: two fulcrum processes with the same
// ring_hash or maglev upstream (its servers listed in opposite orders) send
// each of 1,000 keys to the same server, and still agree after a reload
// removed a server from both, so a fleet behind DNS or ECMP keeps a key on
// one server whichever instance a client reaches. Fake backends name
// themselves in X-Backend.
#include <doctest/doctest.h>

#include <map>
#include <memory>

#include "support/http.h"
#include "support/proxy.h"
#include "support/reload.h"

using namespace fulcrum::test;

namespace {

constexpr int kKeys = 1000;
constexpr unsigned kWorkers = 2;
// Connections per proxy, so that keys reach both of its workers.
constexpr int kConnections = 4;

std::string fleetConfig(const std::string& balance, const std::vector<uint16_t>& servers) {
  std::string out = "global: { workers: " + std::to_string(kWorkers) +
                    ", log: { level: info }, admin: { listen: 127.0.0.1:0 } }\n"
                    "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, "
                    "upstream: pool }\n"
                    "upstreams:\n  pool:\n    balance: " +
                    balance + "\n    hash_key: header:X-Merchant-Id\n    servers:\n";
  for (uint16_t port : servers)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  return out;
}

// The backend that answered each key 0 .. kKeys - 1 through the proxy at
// `port` ("" where no answer came).
std::vector<std::string> owners(uint16_t port) {
  std::vector<Fd> clients;
  std::vector<HttpReader> readers;
  for (int c = 0; c < kConnections; ++c) clients.push_back(connectLoopback(port));
  for (const Fd& client : clients) readers.emplace_back(client.get());
  std::vector<std::string> out(kKeys);
  for (int key = 0; key < kKeys; ++key) {
    const int c = key % kConnections;
    if (!writeAll(clients[c].get(), "GET / HTTP/1.1\r\nHost: t\r\nX-Merchant-Id: merchant-" +
                                        std::to_string(key) + "\r\n\r\n"))
      break;
    auto response = readers[c].response();
    if (!response) break;
    out[key] = response->field("X-Backend").value_or("?");
  }
  return out;
}

int differing(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  int count = 0;
  for (int key = 0; key < kKeys; ++key) count += a[key] != b[key] || a[key].empty();
  return count;
}

}  // namespace

TEST_CASE(
    "hash fleet: two fulcrum processes send each of 1000 keys to the same server, also after a "
    "reload removed one from both") {
  for (const std::string balance : {"ring_hash", "maglev"}) {
    CAPTURE(balance);
    std::vector<std::unique_ptr<HttpBackend>> backends;
    std::vector<uint16_t> ports;
    for (int i = 0; i < 4; ++i) {
      backends.push_back(std::make_unique<HttpBackend>("b" + std::to_string(i)));
      ports.push_back(backends.back()->port());
    }
    std::vector<uint16_t> reversed(ports.rbegin(), ports.rend());
    Proxy first(fleetConfig(balance, ports));
    Proxy second(fleetConfig(balance, reversed));

    const std::vector<std::string> before = owners(first.port("web"));
    CHECK(differing(before, owners(second.port("web"))) == 0);
    std::map<std::string, int> spread;
    for (const std::string& owner : before) ++spread[owner];
    CHECK(spread.size() == 4);
    for (const auto& [owner, keys] : spread) CHECK(keys > kKeys / 10);

    // b2 leaves both: a reload of each with it gone from the config.
    const uint16_t removed = ports[2];
    std::erase(ports, removed);
    std::erase(reversed, removed);
    Reloader reload_first(first, kWorkers), reload_second(second, kWorkers);
    REQUIRE(reload_first.succeeds(fleetConfig(balance, ports)));
    REQUIRE(reload_second.succeeds(fleetConfig(balance, reversed)));

    const std::vector<std::string> after = owners(first.port("web"));
    CHECK(differing(after, owners(second.port("web"))) == 0);
    int on_removed = 0, moved = 0;
    for (int key = 0; key < kKeys; ++key) {
      on_removed += after[key] == "b2";
      moved += before[key] != "b2" && after[key] != before[key];
    }
    CHECK(on_removed == 0);
    // Only the removed server's keys move on the ring; Maglev moves a few
    // more, as its paper says (a handful of 1,000 here).
    MESSAGE(balance << ": " << spread["b2"] << " keys were on the removed server, " << moved
                    << " others moved");
    if (balance == "ring_hash")
      CHECK(moved == 0);
    else
      CHECK(moved <= kKeys / 20);
  }
}
