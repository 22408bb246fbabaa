#include "upstream/registry.h"

#include <array>
#include <vector>

#include "balance/round_robin.h"

namespace fulcrum::upstream {
namespace {

const std::vector<StrategyInfo>& table() {
  static const std::vector<StrategyInfo> entries{
      {"round_robin",
       [](const StrategyEnv& env) -> StrategyPtr {
         return std::make_unique<balance::RoundRobin>(*env.random);
       },
       nullptr, false},
  };
  return entries;
}

constexpr std::array<std::string_view, 7> kPlanned{
    "weighted_round_robin", "least_conn", "least_time", "random", "p2c", "ring_hash", "maglev"};

}  // namespace

const StrategyInfo* findStrategy(std::string_view name) {
  for (const auto& entry : table())
    if (entry.name == name) return &entry;
  return nullptr;
}

bool isPlannedStrategy(std::string_view name) {
  if (findStrategy(name) != nullptr) return false;
  for (auto planned : kPlanned)
    if (planned == name) return true;
  return false;
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
