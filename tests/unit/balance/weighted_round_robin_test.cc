#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "balance/weighted_round_robin.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

// Servers are labelled a, b, c, ... so a pick sequence reads as a string.
struct Fixture : test::StrategyFixture<balance::WeightedRoundRobin, 3> {
  explicit Fixture(const std::vector<unsigned>& weights)
      : StrategyFixture(weights, 3, test::letterLabel) {}

  std::string sequence(int count, const TriedSet& tried = {}) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const Server* server = strategy.pick({tried});
      out += server == nullptr ? "-" : server->label;
    }
    return out;
  }
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
  fulcrum::test::checkPicksEachUntriedOnce(f.strategy, f.servers.size());
}

TEST_CASE("weighted round robin over an empty host set picks nothing") {
  Fixture f({});
  CHECK(f.strategy.pick({TriedSet{}}) == nullptr);
}
