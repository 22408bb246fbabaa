#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "balance/ring_hash.h"
#include "balance/weighted_round_robin.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

// Servers are labelled a, b, c, ... so a pick sequence reads as a string.
// The worker starts at the beginning of the cycle unless `seed` is given,
// then it starts where that seed puts it.
struct Fixture : test::StrategyFixture<balance::WeightedRoundRobin, 3> {
  explicit Fixture(const std::vector<unsigned>& weights)
      : StrategyFixture(weights, 3, test::letterLabel) {
    strategy.setCursorForTest(0);
  }
  Fixture(const std::vector<unsigned>& weights, uint64_t seed)
      : StrategyFixture(weights, seed, test::letterLabel) {}

  std::string sequence(int count, const TriedSet& tried = {}) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const Server* server = strategy.pick({tried});
      out += server == nullptr ? "-" : server->label;
    }
    return out;
  }
};

// The shared table for `weights` (a HostSet of letter-labelled servers), as
// letters.
std::string tableSequence(const std::vector<unsigned>& weights) {
  auto servers = test::makeWeightedServers(weights, test::letterLabel);
  HostSet hosts = test::hostSetOf(servers);
  auto table = std::dynamic_pointer_cast<const balance::WrrTable>(
      balance::buildWrrTable(hosts, StrategyOptions{}));
  REQUIRE(table);
  CHECK(table->host_count == weights.size());
  std::string out;
  for (uint32_t position : table->sequence) out += hosts.hosts[position]->label;
  return out;
}

// nginx's loop itself, one O(n) pick at a time, for `picks` picks.
std::vector<uint32_t> nginxSequence(const std::vector<uint32_t>& weights, size_t picks) {
  std::vector<int64_t> current(weights.size(), 0);
  int64_t total = 0;
  for (uint32_t weight : weights) total += weight;
  std::vector<uint32_t> out;
  for (size_t pick = 0; pick < picks; ++pick) {
    size_t best = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out.push_back(static_cast<uint32_t>(best));
  }
  return out;
}

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

TEST_CASE("weighted round robin's shared table is one cycle of nginx's sequence") {
  CHECK(tableSequence({5, 1, 1}) == "aabacaa");
  CHECK(tableSequence({2, 1}) == "aba");
  CHECK(tableSequence({1, 1, 1}) == "abc");
  CHECK(tableSequence({}).empty());
}

TEST_CASE("weighted round robin's table divides the weights by their common factor") {
  // 10,20 is 1,2: a cycle of 3, not 30.
  CHECK(tableSequence({10, 20}) == "bab");
  CHECK(tableSequence({50, 10, 10}) == "aabacaa");
  CHECK(tableSequence({2560, 2560}) == "ab");
}

TEST_CASE("weighted round robin's table matches nginx's loop for random weights") {
  // Many equal weights (the table takes servers of one weight in turn) and
  // many distinct ones, with and without a common factor.
  Random random(99);
  for (int round = 0; round < 40; ++round) {
    std::vector<uint32_t> weights(1 + random.below(round < 20 ? 8 : 60));
    const uint32_t factor = round % 3 == 0 ? 10 : 1;
    const uint64_t spread = round % 2 == 0 ? 4 : 300;
    for (uint32_t& weight : weights)
      weight = factor * static_cast<uint32_t>(1 + random.below(spread));
    uint64_t divisor = 0;
    for (uint32_t weight : weights) divisor = std::gcd(divisor, uint64_t{weight});
    const uint64_t cycle = std::accumulate(weights.begin(), weights.end(), uint64_t{0}) / divisor;

    std::vector<Server> servers(weights.size());
    HostSet hosts;
    for (size_t i = 0; i < weights.size(); ++i) {
      servers[i].index = static_cast<uint32_t>(i);
      hosts.add(&servers[i], weights[i]);
    }
    auto table = std::dynamic_pointer_cast<const balance::WrrTable>(
        balance::buildWrrTable(hosts, StrategyOptions{}));
    REQUIRE(table);
    INFO("round " << round << ", " << weights.size() << " servers");
    CHECK(table->sequence.size() == cycle);
    CHECK(table->sequence == nginxSequence(weights, cycle));
  }
}

TEST_CASE("weighted round robin scales down weights whose cycle would be too long") {
  // Co-prime weights near a million: a cycle of about 2M is more than the
  // table keeps, so the weights are scaled, keeping their ratio.
  std::vector<Server> servers(2);
  HostSet hosts;
  for (uint32_t i = 0; i < 2; ++i) servers[i].index = i;
  hosts.add(&servers[0], 1000003);
  hosts.add(&servers[1], 2000003);
  auto table = std::dynamic_pointer_cast<const balance::WrrTable>(
      balance::buildWrrTable(hosts, StrategyOptions{}));
  REQUIRE(table);
  CHECK(table->sequence.size() <= balance::kWrrMaxCycle + 2);
  const auto first = std::count(table->sequence.begin(), table->sequence.end(), 0u);
  const double ratio =
      static_cast<double>(table->sequence.size() - static_cast<size_t>(first)) / first;
  CHECK(ratio == doctest::Approx(2000003.0 / 1000003.0).epsilon(1e-5));
}

TEST_CASE("weighted round robin workers start at different points but keep exact ratios") {
  const std::string cycle = tableSequence({5, 3, 2});
  REQUIRE(cycle.size() == 10);
  std::set<std::string> starts;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    Fixture f({5, 3, 2}, seed);
    const std::string first = f.sequence(10);
    starts.insert(first);
    // A rotation of the one cycle: every full cycle holds each server's share.
    CHECK((cycle + cycle).find(first) != std::string::npos);
    CHECK(std::count(first.begin(), first.end(), 'a') == 5);
    CHECK(std::count(first.begin(), first.end(), 'b') == 3);
    CHECK(std::count(first.begin(), first.end(), 'c') == 2);
    CHECK(f.sequence(10) == first);
  }
  // 32 workers in lockstep would all start at one point.
  CHECK(starts.size() >= 5);
}

namespace {

// The first `count` picks of a worker that rebuilt from `hosts` and starts
// at the beginning of its cycle.
std::string firstPicks(size_t servers, const HostSet& hosts, int count) {
  test::WorkerEnv worker(servers, 1);
  balance::WeightedRoundRobin wrr(worker.env);
  wrr.rebuild(hosts);
  wrr.setCursorForTest(0);
  std::string out;
  TriedSet none;
  for (int i = 0; i < count; ++i) out += wrr.pick({none})->label;
  return out;
}

}  // namespace

TEST_CASE("weighted round robin workers share the host set's table") {
  auto servers = test::makeWeightedServers({5, 1, 1}, test::letterLabel);
  HostSet hosts = test::hostSetOf(servers);
  // A table that disagrees with the weights shows which one a worker reads.
  auto fake = std::make_shared<balance::WrrTable>();
  fake->sequence = {2, 2, 1};
  fake->host_count = 3;
  hosts.table = fake;
  CHECK(firstPicks(servers.size(), hosts, 6) == "ccbccb");
}

TEST_CASE("weighted round robin builds its own table when the host set carries another's") {
  auto servers = test::makeWeightedServers({5, 1, 1}, test::letterLabel);
  HostSet hosts = test::hostSetOf(servers);
  hosts.table = balance::buildRing(hosts, StrategyOptions{});
  CHECK(firstPicks(servers.size(), hosts, 7) == "aabacaa");
}
