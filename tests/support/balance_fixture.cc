#include "support/balance_fixture.h"

#include <doctest/doctest.h>
#include <xxhash.h>

namespace fulcrum::test {

using upstream::HostSet;
using upstream::Server;

std::string indexLabel(size_t index) {
  return "s" + std::to_string(index);
}

std::string letterLabel(size_t index) {
  return std::string(1, static_cast<char>('a' + index));
}

std::string addressLabel(size_t index) {
  return "10.0.0." + std::to_string(index + 1) + ":80";
}

std::vector<Server> makeServers(size_t count, LabelFn label) {
  return makeWeightedServers(std::vector<unsigned>(count, 1), label);
}

std::vector<Server> makeWeightedServers(const std::vector<unsigned>& weights, LabelFn label) {
  std::vector<Server> servers(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    servers[i].label = label(i);
    servers[i].weight = weights[i];
    servers[i].index = static_cast<uint32_t>(i);
  }
  return servers;
}

HostSet hostSetOf(const std::vector<Server>& servers, uint32_t skip_index) {
  HostSet set;
  for (const auto& server : servers)
    if (server.index != skip_index) set.add(&server, server.weight);
  return set;
}

HostSet hashHostSetOf(const std::vector<Server>& servers, const upstream::TableBuilder& build,
                      const upstream::StrategyOptions& options, uint32_t skip_index) {
  HostSet set = hostSetOf(servers, skip_index);
  set.table = build(set, options);
  return set;
}

uint64_t keyHash(uint64_t i) {
  return XXH3_64bits(&i, sizeof i);
}

WorkerEnv::WorkerEnv(size_t servers, uint64_t seed, const upstream::StrategyOptions* shared)
    : random(seed), load(servers), env{&random, &load, shared != nullptr ? shared : &options} {}

void WorkerEnv::setActive(uint32_t index, int count) {
  for (int i = 0; i < count; ++i) load.started(index);
}

std::map<uint32_t, int> countPicks(upstream::Strategy& strategy, int picks,
                                   const upstream::TriedSet& tried) {
  std::map<uint32_t, int> counts;
  for (int i = 0; i < picks; ++i) counts[strategy.pick({tried})->index]++;
  return counts;
}

void checkPicksEachUntriedOnce(upstream::Strategy& strategy, size_t servers) {
  upstream::TriedSet tried;
  for (size_t attempt = 0; attempt < servers; ++attempt) {
    const upstream::Server* server = strategy.pick({tried});
    REQUIRE(server != nullptr);
    CHECK_FALSE(tried.contains(server->index));
    tried.add(server->index);
  }
  CHECK(strategy.pick({tried}) == nullptr);
}

}  // namespace fulcrum::test
