#include "balance/registry.h"

#include <vector>

#include "balance/least_conn.h"
#include "balance/least_time.h"
#include "balance/maglev.h"
#include "balance/p2c.h"
#include "balance/ring_hash.h"
#include "balance/round_robin.h"
#include "balance/weighted_random.h"
#include "balance/weighted_round_robin.h"

namespace fulcrum::balance {
namespace {

using upstream::StrategyEnv;
using upstream::StrategyInfo;
using upstream::StrategyPtr;

template <class T>
StrategyPtr make(const StrategyEnv& env) {
  return std::make_unique<T>(env);
}

StrategyPtr makeRoundRobin(const StrategyEnv& env) {
  return std::make_unique<RoundRobin>(*env.random);
}

const std::vector<StrategyInfo>& table() {
  static const std::vector<StrategyInfo> entries{
      {"round_robin", makeRoundRobin, nullptr, false, nullptr},
      // The smooth WRR cycle is the same for every worker: built once per
      // HostSet, like a hash table, though picks do not hash.
      {"weighted_round_robin", make<WeightedRoundRobin>, buildWrrTable, false, nullptr},
      {"least_conn", make<LeastConn>, nullptr, false, nullptr},
      {"least_time", make<LeastTime>, nullptr, false, nullptr},
      {"random", make<WeightedRandom>, nullptr, false, nullptr},
      {"p2c", make<PowerOfTwoChoices>, nullptr, false, nullptr},
      // A request without its key cannot hash; round robin spreads those.
      {"ring_hash", make<RingHash>, buildRing, true, makeRoundRobin},
      {"maglev", make<Maglev>, buildMaglevTable, true, makeRoundRobin},
  };
  return entries;
}

}  // namespace

const StrategyInfo* findStrategy(std::string_view name) {
  for (const auto& entry : table())
    if (entry.name == name) return &entry;
  return nullptr;
}

config::StrategyNames strategyNames() {
  config::StrategyNames names;
  for (const auto& entry : table()) names.push_back({std::string(entry.name), entry.uses_hash});
  return names;
}

}  // namespace fulcrum::balance
