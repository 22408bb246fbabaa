#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "balance/weighted_round_robin.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

std::vector<Server> makeServers(const std::vector<unsigned>& weights) {
  std::vector<Server> servers(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    servers[i].label = std::string(1, static_cast<char>('a' + i));
    servers[i].weight = weights[i];
    servers[i].index = static_cast<uint32_t>(i);
  }
  return servers;
}

HostSet hostSet(const std::vector<Server>& servers) {
  HostSet set;
  for (const auto& server : servers) set.hosts.push_back(&server);
  return set;
}

struct Fixture {
  explicit Fixture(const std::vector<unsigned>& weights)
      : servers(makeServers(weights)),
        load(weights.size()),
        env{&random, &load, &options},
        wrr(env) {
    wrr.rebuild(hostSet(servers));
  }

  std::string sequence(int count, const TriedSet& tried = {}) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const Server* server = wrr.pick({tried});
      out += server == nullptr ? "-" : server->label;
    }
    return out;
  }

  Random random{3};
  std::vector<Server> servers;
  LoadTable load;
  StrategyOptions options;
  StrategyEnv env;
  balance::WeightedRoundRobin wrr;
};

}  // namespace

TEST_CASE("weighted round robin spreads 5,1,1 as a a b a c a a, every cycle") {
  Fixture f({5, 1, 1});
  CHECK(f.sequence(21) ==
        "aabacaa"
        "aabacaa"
        "aabacaa");
}

TEST_CASE("weighted round robin alternates 2,1 as a b a") {
  Fixture f({2, 1});
  CHECK(f.sequence(9) ==
        "aba"
        "aba"
        "aba");
}

TEST_CASE("weighted round robin gives exact ratios over 1000 picks") {
  Fixture f({5, 3, 2});
  std::map<std::string, int> counts;
  for (char c : f.sequence(1000)) counts[std::string(1, c)]++;
  CHECK(counts["a"] == 500);
  CHECK(counts["b"] == 300);
  CHECK(counts["c"] == 200);
}

TEST_CASE("weighted round robin treats equal weights as plain round robin") {
  Fixture f({1, 1, 1});
  CHECK(f.sequence(6) == "abcabc");
}

TEST_CASE("weighted round robin skips tried servers and weighs the rest") {
  Fixture f({5, 1, 1});
  TriedSet tried;
  tried.add(0);
  CHECK(f.sequence(6, tried) == "bcbcbc");
  TriedSet tried_c;
  tried_c.add(2);
  const std::string sequence = f.sequence(600, tried_c);
  CHECK(sequence.find('c') == std::string::npos);
  CHECK(std::count(sequence.begin(), sequence.end(), 'a') == 500);
}

TEST_CASE("weighted round robin never returns a tried server while another is untried") {
  Fixture f({7, 1, 3, 2, 1, 4});
  TriedSet tried;
  for (size_t attempt = 0; attempt < f.servers.size(); ++attempt) {
    const Server* server = f.wrr.pick({tried});
    REQUIRE(server != nullptr);
    CHECK_FALSE(tried.contains(server->index));
    tried.add(server->index);
  }
  CHECK(f.wrr.pick({tried}) == nullptr);
}

TEST_CASE("weighted round robin over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.wrr.pick({TriedSet{}}) == nullptr);
}
