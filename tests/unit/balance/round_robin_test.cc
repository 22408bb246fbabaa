#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "balance/round_robin.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using test::hostSetOf;
using test::makeServers;

TEST_CASE("round robin visits every server once per cycle, in order") {
  Random random(7);
  auto servers = makeServers(4);
  balance::RoundRobin rr(random);
  rr.rebuild(hostSetOf(servers));
  TriedSet none;
  const Server* first = rr.pick({none});
  REQUIRE(first != nullptr);
  std::vector<uint32_t> order{first->index};
  for (int i = 1; i < 8; ++i) order.push_back(rr.pick({none})->index);
  for (size_t i = 0; i < order.size(); ++i) CHECK(order[i] == (first->index + i) % 4);
}

TEST_CASE("round robin never returns a server already tried") {
  Random random(11);
  auto servers = makeServers(5);
  balance::RoundRobin rr(random);
  rr.rebuild(hostSetOf(servers));
  TriedSet tried;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const Server* server = rr.pick({tried});
    REQUIRE(server != nullptr);
    CHECK_FALSE(tried.contains(server->index));
    tried.add(server->index);
  }
  CHECK(tried.size() == 5);
  CHECK(rr.pick({tried}) == nullptr);
}

TEST_CASE("round robin over an empty host set picks nothing") {
  Random random(1);
  balance::RoundRobin rr(random);
  rr.rebuild(HostSet{});
  TriedSet none;
  CHECK(rr.pick({none}) == nullptr);
}

TEST_CASE("round robin instances start at different offsets") {
  auto servers = makeServers(16);
  std::map<uint32_t, int> first_picks;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    Random random(seed);
    balance::RoundRobin rr(random);
    rr.rebuild(hostSetOf(servers));
    TriedSet none;
    first_picks[rr.pick({none})->index]++;
  }
  // 64 workers in lockstep would all start on one server.
  CHECK(first_picks.size() >= 8);
}
