// The server connection pool under a steady load wider than any fixed
// cap: without keepalive.max_idle, the connections the first round of 64
// concurrent requests needed are all kept, so later rounds open none
// (fulcrum_upstream_connections_opened_total and the server's own count
// agree); with max_idle written, the pool keeps that many and the rest
// are opened again each round.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/net.h"
#include "support/proxy.h"
#include "support/scrape.h"

using namespace fulcrum::test;

namespace {

constexpr int kConcurrency = 64;

// Answers a round's requests only once all of them arrived, so every round
// has kConcurrency requests in flight at once, each on its own server
// connection.
class RoundBarrier {
 public:
  std::string answer() {
    std::unique_lock<std::mutex> lock(mutex_);
    const int round = arrived_++ / kConcurrency;
    const int needed = (round + 1) * kConcurrency;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return arrived_ >= needed; });
    return httpResponse(200, "");
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
};

// Sends one request on each client connection, then reads every answer.
int oneRound(std::vector<Fd>& clients) {
  for (Fd& client : clients)
    REQUIRE(writeAll(client.get(), "GET /pay HTTP/1.1\r\nHost: api\r\n\r\n"));
  int ok = 0;
  for (Fd& client : clients) ok += readHeadBytes(client.get()).rfind("HTTP/1.1 200", 0) == 0;
  return ok;
}

double opened(uint16_t admin) {
  return sumSeries(scrapeSamples(admin), "fulcrum_upstream_connections_opened_total", {});
}

// Server connections opened in rounds 2 to 6, after round 1 warmed the pool.
int openedAfterWarmUp(const std::string& upstream_extra, double& metric_moved) {
  RoundBarrier barrier;
  HttpBackend backend("b1", [&](const HttpMessage&, int) { return barrier.answer(); });
  HttpConfig config;
  config.servers = {backend.port()};
  config.extra_upstreams = upstream_extra;
  Proxy proxy(config.yaml());
  std::vector<Fd> clients;
  for (int i = 0; i < kConcurrency; ++i) clients.push_back(connectLoopback(proxy.port("web")));
  REQUIRE(oneRound(clients) == kConcurrency);
  REQUIRE(backend.connections() == kConcurrency);
  const double before = opened(proxy.adminPort());
  CHECK(before == kConcurrency);
  for (int round = 2; round <= 6; ++round) REQUIRE(oneRound(clients) == kConcurrency);
  metric_moved = opened(proxy.adminPort()) - before;
  return backend.connections() - kConcurrency;
}

}  // namespace

TEST_CASE("server connections: a steady load of 64 concurrent requests opens none after warm-up") {
  double moved = -1;
  CHECK(openedAfterWarmUp("", moved) == 0);
  CHECK(moved == 0);
}

TEST_CASE("server connections: keepalive.max_idle caps the pool, and the metric counts the rest") {
  double moved = -1;
  // 16 kept: each later round opens the 48 others again.
  const int opened_again = openedAfterWarmUp("    keepalive: { max_idle: 16 }\n", moved);
  CHECK(opened_again == 5 * (kConcurrency - 16));
  CHECK(moved == opened_again);
}
