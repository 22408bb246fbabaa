// Every balancing strategy through the real proxy: fake backends name
// themselves in X-Backend, and the test counts who answered.
#include <doctest/doctest.h>

#include <map>
#include <memory>

#include "support/http.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

struct Fleet {
  std::vector<std::unique_ptr<HttpBackend>> backends;
  explicit Fleet(int count) {
    for (int i = 0; i < count; ++i)
      backends.push_back(std::make_unique<HttpBackend>("b" + std::to_string(i)));
  }
  // `weights` empty = all 1.
  std::string yaml(const std::string& balance, const std::string& extra = "",
                   const std::vector<int>& weights = {}) const {
    std::string out =
        "global: { workers: 1, log: { level: info }, admin: { listen: 127.0.0.1:0 } }\n"
        "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
        "upstreams:\n  pool:\n    balance: " +
        balance + "\n" + extra + "    servers:\n";
    for (size_t i = 0; i < backends.size(); ++i)
      out += "      - { address: 127.0.0.1:" + std::to_string(backends[i]->port()) +
             ", weight: " + std::to_string(weights.empty() ? 1 : weights[i]) + " }\n";
    return out;
  }
};

// Sends `count` requests over one keep-alive connection; returns who answered.
std::map<std::string, int> answers(uint16_t port, int count,
                                   const std::function<std::string(int)>& extra_fields) {
  Fd client = connectLoopback(port);
  HttpReader reader(client.get());
  std::map<std::string, int> seen;
  for (int i = 0; i < count; ++i) {
    std::string request = "GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n" +
                          (extra_fields ? extra_fields(i) : "") + "\r\n";
    if (!writeAll(client.get(), request)) break;
    auto response = reader.response();
    if (!response) break;
    seen[response->field("X-Backend").value_or("?")]++;
  }
  return seen;
}

}  // namespace

TEST_CASE("weighted_round_robin spreads requests in the ratio of the weights") {
  Fleet fleet(3);
  Proxy proxy(fleet.yaml("weighted_round_robin", "", {5, 1, 1}));
  auto seen = answers(proxy.port("web"), 70, nullptr);
  CHECK(seen["b0"] == 50);
  CHECK(seen["b1"] == 10);
  CHECK(seen["b2"] == 10);
}

TEST_CASE("random, p2c and least_conn share an idle fleet, least_time tries every server") {
  for (const char* balance : {"random", "p2c", "least_conn", "least_time"}) {
    const std::string strategy = balance;
    CAPTURE(strategy);
    Fleet fleet(3);
    Proxy proxy(fleet.yaml(balance));
    auto seen = answers(proxy.port("web"), 90, nullptr);
    CHECK(seen.size() == 3);
    // least_time sends one request at a time to the fastest server it has
    // measured; a server without a sample scores lowest, so each is tried.
    const int least = strategy == "least_time" ? 1 : 5;
    for (const auto& [name, count] : seen) CHECK(count >= least);
    CHECK(seen["?"] == 0);
  }
}

TEST_CASE("ring_hash and maglev on a header: the same key always lands on the same backend") {
  for (const char* balance : {"ring_hash", "maglev"}) {
    CAPTURE(balance);
    Fleet fleet(4);
    Proxy proxy(fleet.yaml(balance, "    hash_key: header:X-Merchant-Id\n"));
    uint16_t port = proxy.port("web");
    std::map<int, std::string> owner;
    std::map<std::string, int> spread;
    for (int round = 0; round < 3; ++round) {
      Fd client = connectLoopback(port);
      HttpReader reader(client.get());
      for (int merchant = 0; merchant < 40; ++merchant) {
        REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\nX-Merchant-Id: m-" +
                                           std::to_string(merchant) + "\r\n\r\n"));
        auto response = reader.response();
        REQUIRE(response);
        std::string backend = response->field("X-Backend").value_or("?");
        if (round == 0) {
          owner[merchant] = backend;
          spread[backend]++;
        } else {
          CHECK(owner[merchant] == backend);
        }
      }
    }
    CHECK(spread.size() >= 3);  // 40 keys over 4 servers
  }
}

TEST_CASE("cookie hashing keeps a session on one backend, no cookie falls back to round robin") {
  Fleet fleet(3);
  Proxy proxy(fleet.yaml("maglev", "    hash_key: cookie:session\n"));
  uint16_t port = proxy.port("web");
  auto sticky = answers(port, 30, [](int) { return std::string("Cookie: a=1; session=s-77\r\n"); });
  CHECK(sticky.size() == 1);
  auto spread = answers(port, 30, nullptr);
  CHECK(spread.size() == 3);
}

TEST_CASE("a weight 0 server is drained: it gets no requests") {
  Fleet fleet(3);
  Proxy proxy(fleet.yaml("round_robin", "", {1, 0, 1}));
  auto seen = answers(proxy.port("web"), 30, nullptr);
  CHECK(seen["b1"] == 0);
  CHECK(seen["b0"] == 15);
  CHECK(seen["b2"] == 15);
}
