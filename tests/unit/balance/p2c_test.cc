#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "balance/p2c.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

using Fixture = test::StrategyFixture<balance::PowerOfTwoChoices, 77>;

TEST_CASE("p2c steers away from a loaded server") {
  Fixture f({1, 1, 1, 1, 1});
  for (int i = 0; i < 20; ++i) f.load.started(0);  // s0 is stuck on 20 slow requests
  // Every pick becomes a request in flight; the oldest finishes once 20 of
  // ours are in flight, so the others hover around 5 each.
  std::deque<uint32_t> in_flight;
  std::map<uint32_t, int> counts;
  TriedSet none;
  constexpr int kPicks = 10000;
  for (int i = 0; i < kPicks; ++i) {
    const Server* server = f.strategy.pick({none});
    REQUIRE(server != nullptr);
    counts[server->index]++;
    f.load.started(server->index);
    in_flight.push_back(server->index);
    if (in_flight.size() > 20) {
      f.load.finished(in_flight.front());
      in_flight.pop_front();
    }
  }
  // Uniform random would give s0 2000.
  CHECK(counts[0] < kPicks / 100);
  for (uint32_t i = 1; i < 5; ++i) CHECK(counts[i] > kPicks / 5);
}

TEST_CASE("p2c of two servers picks the lighter one per weight") {
  Fixture f({3, 1});
  for (int i = 0; i < 3; ++i) f.load.started(0);  // s0: (3 + 1) / 3 > s1: (0 + 1) / 1
  TriedSet none;
  for (int i = 0; i < 20; ++i) CHECK(f.strategy.pick({none})->index == 1);
  f.load.finished(0);
  f.load.finished(0);  // s0: (1 + 1) / 3 < 1
  for (int i = 0; i < 20; ++i) CHECK(f.strategy.pick({none})->index == 0);
}

TEST_CASE("p2c returns the only untried server") {
  Fixture f({1, 1, 1});
  for (int i = 0; i < 9; ++i) f.load.started(2);
  TriedSet tried;
  tried.add(0);
  tried.add(1);
  for (int i = 0; i < 20; ++i) CHECK(f.strategy.pick({tried})->index == 2);
  Fixture single({4});
  CHECK(single.strategy.pick({TriedSet{}})->index == 0);
}

TEST_CASE("p2c never returns a tried server while another is untried") {
  std::vector<unsigned> weights(100, 1);
  Fixture f(weights);
  fulcrum::test::checkPicksEachUntriedOnce(f.strategy, f.servers.size());
}

TEST_CASE("p2c over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.strategy.pick({TriedSet{}}) == nullptr);
}
