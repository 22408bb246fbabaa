#include "upstream/registry.h"

#include <array>
#include <utility>

#include "balance/round_robin.h"

namespace fulcrum::upstream {
namespace {

struct Entry {
  std::string_view name;
  StrategyFactory factory;
};

const std::array<Entry, 1>& table() {
  static const std::array<Entry, 1> entries{{
      {"round_robin",
       [](Random& random) -> StrategyPtr { return std::make_unique<balance::RoundRobin>(random); }},
  }};
  return entries;
}

constexpr std::array<std::string_view, 7> kPlanned{
    "weighted_round_robin", "least_conn", "least_time", "random", "p2c", "ring_hash", "maglev"};

}  // namespace

const StrategyFactory* findStrategy(std::string_view name) {
  for (const auto& entry : table())
    if (entry.name == name) return &entry.factory;
  return nullptr;
}

bool isPlannedStrategy(std::string_view name) {
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
