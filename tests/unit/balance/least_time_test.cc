#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "balance/least_time.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using namespace std::chrono_literals;

namespace {

const LoadTable::Clock::time_point kStart{std::chrono::hours(1)};

// The LoadTable's latency decay is its default, 10 s.
struct Fixture : test::StrategyFixture<balance::LeastTime, 9> {
  explicit Fixture(const std::vector<unsigned>& weights) : StrategyFixture(weights) {}

  const Server* pick(LoadTable::Clock::time_point now, const TriedSet& tried = {}) {
    return strategy.pick({tried, 0, now});
  }
};

}  // namespace

TEST_CASE("least time steers away from a slow server") {
  Fixture f({1, 1, 1});
  f.load.observeLatency(0, 100ms, kStart);
  f.load.observeLatency(1, 10ms, kStart);
  f.load.observeLatency(2, 10ms, kStart);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 100; ++i) counts[f.pick(kStart)->index]++;
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 50);  // s1 and s2 tie: round robin
  CHECK(counts[2] == 50);
}

TEST_CASE("least time weighs latency by requests in flight and weight") {
  Fixture f({1, 1, 2});
  for (uint32_t i = 0; i < 3; ++i) f.load.observeLatency(i, 10ms, kStart);
  f.load.started(0);  // 10 ms * 2 / 1 = 20
  // s1: 10 ms * 1 / 1 = 10; s2: 10 ms * 1 / 2 = 5.
  CHECK(f.pick(kStart)->index == 2);
  f.load.started(2);
  f.load.started(2);  // s2: 10 ms * 3 / 2 = 15
  CHECK(f.pick(kStart)->index == 1);
}

TEST_CASE("least time comes back to a slow server as its latency decays") {
  Fixture f({1, 1, 1});
  f.load.observeLatency(0, 100ms, kStart);
  // s1 and s2 keep answering in 10 ms; s0 gets nothing, so its 100 ms fades
  // (time constant 10 s) and passes below 10 ms after ln(10) * 10 s = 23 s.
  int first_second = -1;
  for (int second = 0; second <= 60 && first_second < 0; ++second) {
    const auto now = kStart + std::chrono::seconds(second);
    f.load.observeLatency(1, 10ms, now);
    f.load.observeLatency(2, 10ms, now);
    if (f.pick(now)->index == 0) first_second = second;
  }
  CHECK(first_second == 24);
}

TEST_CASE("least time comes back to a slow server after faster samples") {
  Fixture f({1, 1});
  f.load.observeLatency(0, 200ms, kStart);
  f.load.observeLatency(1, 20ms, kStart);
  CHECK(f.pick(kStart)->index == 1);
  // s0 now answers in 5 ms (say, a retried request went there); each sample
  // pulls its peak-EWMA down; s1 stays at 20 ms.
  int first_second = -1;
  for (int second = 1; second <= 60 && first_second < 0; ++second) {
    const auto now = kStart + std::chrono::seconds(second);
    f.load.observeLatency(0, 5ms, now);
    f.load.observeLatency(1, 20ms, now);
    if (f.pick(now)->index == 0) first_second = second;
  }
  CHECK(first_second > 1);
  CHECK(first_second <= 30);
  // And a slower sample takes over at once (peak): it is avoided again.
  const auto later = kStart + 61s;
  f.load.observeLatency(0, 500ms, later);
  f.load.observeLatency(1, 20ms, later);
  CHECK(f.pick(later)->index == 1);
}

TEST_CASE("least time tries a server with no sample, one request at a time") {
  Fixture f({1, 1, 1});
  f.load.observeLatency(0, 1ms, kStart);
  f.load.observeLatency(1, 1ms, kStart);
  CHECK(f.pick(kStart)->index == 2);
  f.load.started(2);  // its first request is in flight: no more until it answers
  for (int i = 0; i < 10; ++i) CHECK(f.pick(kStart)->index != 2);
  f.load.finished(2);
  f.load.observeLatency(2, 1ms, kStart);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 9; ++i) counts[f.pick(kStart)->index]++;
  CHECK(counts[0] == 3);
  CHECK(counts[1] == 3);
  CHECK(counts[2] == 3);
}

TEST_CASE("least time never returns a tried server while another is untried") {
  Fixture f({1, 2, 3, 1, 1});
  f.load.observeLatency(1, 1ms, kStart);
  f.load.observeLatency(3, 9ms, kStart);
  f.load.started(4);
  TriedSet tried;
  for (size_t attempt = 0; attempt < f.servers.size(); ++attempt) {
    const Server* server = f.pick(kStart, tried);
    REQUIRE(server != nullptr);
    CHECK_FALSE(tried.contains(server->index));
    tried.add(server->index);
  }
  CHECK(f.pick(kStart, tried) == nullptr);
}

TEST_CASE("least time over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.pick(kStart) == nullptr);
}
