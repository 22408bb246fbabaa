#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "balance/weighted_random.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

using Fixture = test::StrategyFixture<balance::WeightedRandom, 12345>;

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
  std::map<uint32_t, int> counts = test::countPicks(f.strategy, kPicks);
  checkWithinThreeSigma(counts, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 10}, {5, 256}}, kPicks);
}

TEST_CASE("weighted random keeps the weights among the untried servers") {
  // The heaviest server is tried: most first draws land on it, so this
  // exercises the redraws and the final scan.
  Fixture f({1, 2, 3, 200});
  TriedSet tried;
  tried.add(3);
  constexpr int kPicks = 100000;
  std::map<uint32_t, int> counts = test::countPicks(f.strategy, kPicks, tried);
  CHECK(counts.count(3) == 0);
  checkWithinThreeSigma(counts, {{0, 1}, {1, 2}, {2, 3}}, kPicks);
}

TEST_CASE("weighted random never returns a tried server while another is untried") {
  std::vector<unsigned> weights(100);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 1 + static_cast<unsigned>(i * 7 % 256);
  Fixture f(weights);
  fulcrum::test::checkPicksEachUntriedOnce(f.strategy, f.servers.size());
}

TEST_CASE("weighted random over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.strategy.pick({TriedSet{}}) == nullptr);
}
