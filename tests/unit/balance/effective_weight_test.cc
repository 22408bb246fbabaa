// Every non-hash strategy weighs servers by HostSet::weights (the control
// loop's effective weights, ramped during slow start), not by the config's
// Server::weight. Here every Server has weight 1 and the HostSet says 3:1.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "balance/least_conn.h"
#include "balance/least_time.h"
#include "balance/p2c.h"
#include "balance/weighted_random.h"
#include "balance/weighted_round_robin.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using namespace std::chrono_literals;

namespace {

// Two servers of config weight 1, effective weights 3 and 1, and strategy S
// rebuilt on them.
template <typename S>
struct Ramped : test::WorkerEnv {
  Ramped() : WorkerEnv(2, 17), servers(test::makeServers(2)), strategy(env) {
    HostSet hosts;
    hosts.add(&servers[0], 3);
    hosts.add(&servers[1], 1);
    strategy.rebuild(hosts);
  }
  std::vector<Server> servers;
  S strategy;
};

}  // namespace

TEST_CASE("weighted round robin follows the host set's effective weights") {
  Ramped<balance::WeightedRoundRobin> r;
  std::map<uint32_t, int> counts = test::countPicks(r.strategy, 400);
  CHECK(counts[0] == 300);
  CHECK(counts[1] == 100);
  // The retry scan too: with a server outside the set tried, 3:1 still.
  TriedSet other;
  other.add(7);
  counts = test::countPicks(r.strategy, 400, other);
  CHECK(counts[0] == 300);
  CHECK(counts[1] == 100);
}

TEST_CASE("random follows the host set's effective weights") {
  Ramped<balance::WeightedRandom> r;
  std::map<uint32_t, int> counts = test::countPicks(r.strategy, 40000);
  // Binomial(40000, 3/4): sigma is about 87.
  CHECK(counts[0] > 30000 - 400);
  CHECK(counts[0] < 30000 + 400);
}

TEST_CASE("least conn follows the host set's effective weights") {
  Ramped<balance::LeastConn> r;
  // (active + 1) / weight: with s0 at 2 in flight, 3/3 ties s1 at 0: 1/1;
  // at 3 in flight s0 loses.
  r.setActive(0, 3);
  TriedSet none;
  CHECK(r.strategy.pick({none})->index == 1);
  r.load.finished(0);
  r.load.started(1);  // s0: 3/3, s1: 2/1
  CHECK(r.strategy.pick({none})->index == 0);
}

TEST_CASE("least time follows the host set's effective weights") {
  Ramped<balance::LeastTime> r;
  const LoadTable::Clock::time_point start{std::chrono::hours(1)};
  r.load.observeLatency(0, 25ms, start);  // 25 ms / 3 < 10 ms / 1
  r.load.observeLatency(1, 10ms, start);
  TriedSet none;
  CHECK(r.strategy.pick({none, 0, start})->index == 0);
  r.load.observeLatency(0, 40ms, start);  // 40 ms / 3 > 10 ms / 1
  CHECK(r.strategy.pick({none, 0, start})->index == 1);
}

TEST_CASE("p2c follows the host set's effective weights") {
  Ramped<balance::PowerOfTwoChoices> r;
  // s0: (2 + 1) / 3 = 1 < s1: (1 + 1) / 1 = 2, though both have weight 1.
  r.setActive(0, 2);
  r.setActive(1, 1);
  TriedSet none;
  for (int i = 0; i < 20; ++i) CHECK(r.strategy.pick({none})->index == 0);
}
