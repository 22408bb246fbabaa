#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "balance/round_robin.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

std::vector<Server> makeServers(size_t count) {
  std::vector<Server> servers(count);
  for (size_t i = 0; i < count; ++i) {
    servers[i].label = "s" + std::to_string(i);
    servers[i].index = static_cast<uint32_t>(i);
  }
  return servers;
}

HostSet hostSet(const std::vector<Server>& servers) {
  HostSet set;
  for (const auto& server : servers) set.hosts.push_back(&server);
  return set;
}

}  // namespace

TEST_CASE("round robin visits every server once per cycle, in order") {
  Random random(7);
  auto servers = makeServers(4);
  balance::RoundRobin rr(random);
  rr.rebuild(hostSet(servers));
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
  rr.rebuild(hostSet(servers));
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
    rr.rebuild(hostSet(servers));
    TriedSet none;
    first_picks[rr.pick({none})->index]++;
  }
  // 64 workers in lockstep would all start on one server.
  CHECK(first_picks.size() >= 8);
}
