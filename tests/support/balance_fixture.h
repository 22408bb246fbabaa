// Shared setup for the balancing strategy unit tests: servers with labels,
// weights and indexes, HostSets over them (with a hash table when asked),
// a worker's Random / LoadTable / StrategyOptions wired into a StrategyEnv,
// and loops that count picks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "upstream/host_set.h"
#include "upstream/load.h"
#include "upstream/server.h"
#include "upstream/strategy.h"
#include "upstream/tried_set.h"

namespace fulcrum::test {

// Server labels by position.
using LabelFn = std::string (*)(size_t index);
std::string indexLabel(size_t index);    // "s0", "s1", ...
std::string letterLabel(size_t index);   // "a", "b", ...
std::string addressLabel(size_t index);  // "10.0.0.1:80", "10.0.0.2:80", ...

// `count` servers of weight 1, or one server per weight; index i is i.
std::vector<upstream::Server> makeServers(size_t count, LabelFn label = indexLabel);
std::vector<upstream::Server> makeWeightedServers(const std::vector<unsigned>& weights,
                                                  LabelFn label = indexLabel);

inline constexpr uint32_t kSkipNone = UINT32_MAX;

// A HostSet over `servers`, leaving out the one with index `skip_index`.
upstream::HostSet hostSetOf(const std::vector<upstream::Server>& servers,
                            uint32_t skip_index = kSkipNone);
// The same, with its hash table built by `build` (buildRing, buildMaglevTable).
upstream::HostSet hashHostSetOf(const std::vector<upstream::Server>& servers,
                                const upstream::TableBuilder& build,
                                const upstream::StrategyOptions& options,
                                uint32_t skip_index = kSkipNone);

// The 64-bit xxh3 of `i`: the hash of the i-th request key.
uint64_t keyHash(uint64_t i);

// What one worker hands its strategies: a seeded Random, a LoadTable for
// `servers` servers, and options (its own, or `shared` when given).
struct WorkerEnv {
  WorkerEnv(size_t servers, uint64_t seed, const upstream::StrategyOptions* shared = nullptr);
  WorkerEnv(const WorkerEnv&) = delete;
  WorkerEnv& operator=(const WorkerEnv&) = delete;

  // Puts `count` more requests in flight on server `index`.
  void setActive(uint32_t index, int count);

  Random random;
  upstream::LoadTable load;
  upstream::StrategyOptions options;
  upstream::StrategyEnv env;
};

// A strategy S (constructed from a StrategyEnv) on its own servers, one per
// weight, rebuilt on a HostSet of all of them.
template <typename S, uint64_t kSeed>
struct StrategyFixture : WorkerEnv {
  explicit StrategyFixture(const std::vector<unsigned>& weights, uint64_t seed = kSeed,
                           LabelFn label = indexLabel)
      : WorkerEnv(weights.size(), seed),
        servers(makeWeightedServers(weights, label)),
        strategy(env) {
    strategy.rebuild(hostSetOf(servers));
  }

  std::vector<upstream::Server> servers;
  S strategy;
};

// A hash strategy S with a worker's environment, rebuilt on `hosts`, whose
// table was built with `options`.
template <typename S, uint64_t kSeed>
struct HashPicker : WorkerEnv {
  HashPicker(const upstream::HostSet& hosts, const upstream::StrategyOptions& options,
             size_t servers)
      : WorkerEnv(servers, kSeed, &options), strategy(env) {
    strategy.rebuild(hosts);
  }
  const upstream::Server* pick(uint64_t hash) {
    upstream::TriedSet none;
    return strategy.pick({none, hash});
  }
  S strategy;
};

// How many of `picks` picks (none of them tried unless `tried` says so) land
// on each server index.
// Picks with a growing tried set until every one of `servers` was tried:
// each pick must be a server not yet tried, and then nothing is left.
// Asserts with doctest.
void checkPicksEachUntriedOnce(upstream::Strategy& strategy, size_t servers);

std::map<uint32_t, int> countPicks(upstream::Strategy& strategy, int picks,
                                   const upstream::TriedSet& tried = {});

// How many of the keys 0 .. keys - 1 land on each server index.
template <typename Picker>
std::map<uint32_t, uint64_t> countKeys(Picker& picker, uint64_t keys) {
  std::map<uint32_t, uint64_t> counts;
  for (uint64_t i = 0; i < keys; ++i) counts[picker.pick(keyHash(i))->index]++;
  return counts;
}

}  // namespace fulcrum::test
