#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "balance/weighted_random.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

std::vector<Server> makeServers(const std::vector<unsigned>& weights) {
  std::vector<Server> servers(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    servers[i].label = "s" + std::to_string(i);
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
        wr(env) {
    wr.rebuild(hostSet(servers));
  }

  Random random{12345};
  std::vector<Server> servers;
  LoadTable load;
  StrategyOptions options;
  StrategyEnv env;
  balance::WeightedRandom wr;
};

// Each server's count is Binomial(picks, weight / total); it must lie within
// 3 standard deviations of its mean.
void checkWithinThreeSigma(const std::map<uint32_t, int>& counts,
                           const std::map<uint32_t, unsigned>& weights, int picks) {
  double total = 0;
  for (const auto& [index, weight] : weights) total += weight;
  for (const auto& [index, weight] : weights) {
    const double p = weight / total;
    const double mean = picks * p;
    const double sigma = std::sqrt(picks * p * (1 - p));
    const auto it = counts.find(index);
    const double count = it == counts.end() ? 0 : it->second;
    INFO("server " << index << ": " << count << " picks, expected " << mean << " +- " << sigma);
    CHECK(std::abs(count - mean) <= 3 * sigma);
  }
}

}  // namespace

TEST_CASE("weighted random matches the weights within 3 sigma over 100k picks") {
  Fixture f({1, 2, 3, 4, 10, 256});
  constexpr int kPicks = 100000;
  std::map<uint32_t, int> counts;
  TriedSet none;
  for (int i = 0; i < kPicks; ++i) counts[f.wr.pick({none})->index]++;
  checkWithinThreeSigma(counts, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 10}, {5, 256}}, kPicks);
}

TEST_CASE("weighted random keeps the weights among the untried servers") {
  // The heaviest server is tried: most first draws land on it, so this
  // exercises the redraws and the final scan.
  Fixture f({1, 2, 3, 200});
  TriedSet tried;
  tried.add(3);
  constexpr int kPicks = 100000;
  std::map<uint32_t, int> counts;
  for (int i = 0; i < kPicks; ++i) counts[f.wr.pick({tried})->index]++;
  CHECK(counts.count(3) == 0);
  checkWithinThreeSigma(counts, {{0, 1}, {1, 2}, {2, 3}}, kPicks);
}

TEST_CASE("weighted random never returns a tried server while another is untried") {
  std::vector<unsigned> weights(100);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 1 + static_cast<unsigned>(i * 7 % 256);
  Fixture f(weights);
  TriedSet tried;
  for (size_t attempt = 0; attempt < f.servers.size(); ++attempt) {
    const Server* server = f.wr.pick({tried});
    REQUIRE(server != nullptr);
    CHECK_FALSE(tried.contains(server->index));
    tried.add(server->index);
  }
  CHECK(f.wr.pick({tried}) == nullptr);
}

TEST_CASE("weighted random over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.wr.pick({TriedSet{}}) == nullptr);
}
