#include "upstream/registry.h"

#include <vector>

#include "balance/least_conn.h"
#include "balance/least_time.h"
#include "balance/maglev.h"
#include "balance/p2c.h"
#include "balance/ring_hash.h"
#include "balance/round_robin.h"
#include "balance/weighted_random.h"
#include "balance/weighted_round_robin.h"

namespace fulcrum::upstream {
namespace {

template <class T>
StrategyPtr make(const StrategyEnv& env) {
  return std::make_unique<T>(env);
}

const std::vector<StrategyInfo>& table() {
  static const std::vector<StrategyInfo> entries{
      {"round_robin",
       [](const StrategyEnv& env) -> StrategyPtr {
         return std::make_unique<balance::RoundRobin>(*env.random);
       },
       nullptr, false},
      // The smooth WRR cycle is the same for every worker: built once per
      // HostSet, like a hash table, though picks do not hash.
      {"weighted_round_robin", make<balance::WeightedRoundRobin>, balance::buildWrrTable, false},
      {"least_conn", make<balance::LeastConn>, nullptr, false},
      {"least_time", make<balance::LeastTime>, nullptr, false},
      {"random", make<balance::WeightedRandom>, nullptr, false},
      {"p2c", make<balance::PowerOfTwoChoices>, nullptr, false},
      {"ring_hash", make<balance::RingHash>, balance::buildRing, true},
      {"maglev", make<balance::Maglev>, balance::buildMaglevTable, true},
  };
  return entries;
}

}  // namespace

const StrategyInfo* findStrategy(std::string_view name) {
  for (const auto& entry : table())
    if (entry.name == name) return &entry;
  return nullptr;
}

std::string strategyNames() {
  std::string out;
  for (const auto& entry : table()) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

}  // namespace fulcrum::upstream
