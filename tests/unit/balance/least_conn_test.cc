#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "balance/least_conn.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using test::countPicks;

using Fixture = test::StrategyFixture<balance::LeastConn, 5>;

TEST_CASE("least conn steers away from a loaded server") {
  Fixture f({1, 1, 1});
  f.setActive(0, 5);
  TriedSet none;
  std::map<uint32_t, int> counts;
  // Each pick becomes a request in flight: s1 and s2 fill up to s0's level
  // before s0 gets anything.
  for (int i = 0; i < 10; ++i) {
    const Server* server = f.strategy.pick({none});
    REQUIRE(server != nullptr);
    counts[server->index]++;
    f.load.started(server->index);
  }
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 5);
  CHECK(counts[2] == 5);
  // All at 5 now: s0 is back in the rotation.
  counts = countPicks(f.strategy, 3);
  CHECK(counts.size() == 3);
}

TEST_CASE("least conn weighs load: weight 2 with 3 in flight ties weight 1 with 1") {
  // (active + 1) / weight: (3 + 1) / 2 == (1 + 1) / 1.
  Fixture f({2, 1, 1});
  f.setActive(0, 3);
  f.setActive(1, 1);
  f.setActive(2, 4);
  std::map<uint32_t, int> counts = countPicks(f.strategy, 10);
  CHECK(counts[0] == 5);
  CHECK(counts[1] == 5);
  CHECK(counts[2] == 0);
}

TEST_CASE("least conn counts the request about to be sent, so weight matters when idle") {
  // Weight 2 with 2 in flight: 3/2 < 2/1, so it wins over weight 1 with 1.
  Fixture f({2, 1});
  f.setActive(0, 2);
  f.setActive(1, 1);
  TriedSet none;
  for (int i = 0; i < 5; ++i) CHECK(f.strategy.pick({none})->index == 0);
  // Idle servers: the heavier one has the lower (0 + 1) / weight.
  Fixture idle({1, 3, 1});
  CHECK(idle.strategy.pick({none})->index == 1);
}

TEST_CASE("least conn rotates among tied servers") {
  Fixture f({1, 1, 1, 1});
  TriedSet none;
  const Server* first = f.strategy.pick({none});
  REQUIRE(first != nullptr);
  for (uint32_t i = 1; i < 8; ++i) CHECK(f.strategy.pick({none})->index == (first->index + i) % 4);

  // Only s0 and s3 tie for least: they alternate, with no bias to either.
  Fixture g({1, 1, 1, 1});
  g.setActive(1, 2);
  g.setActive(2, 2);
  std::map<uint32_t, int> counts = countPicks(g.strategy, 10);
  CHECK(counts[0] == 5);
  CHECK(counts[3] == 5);
}

TEST_CASE("least conn workers start at different offsets") {
  std::map<uint32_t, int> first_picks;
  TriedSet none;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    Fixture f({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, seed);
    first_picks[f.strategy.pick({none})->index]++;
  }
  CHECK(first_picks.size() >= 8);
}

TEST_CASE("least conn never returns a tried server while another is untried") {
  Fixture f({1, 2, 3, 1, 1});
  f.setActive(2, 7);
  fulcrum::test::checkPicksEachUntriedOnce(f.strategy, f.servers.size());
}

TEST_CASE("least conn over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.strategy.pick({TriedSet{}}) == nullptr);
}
