// Maps `balance:` names to strategies: one table, asked by the config
// validator (to list valid names) and by the runtime builder.
#pragma once

#include <string>
#include <string_view>

#include "upstream/strategy.h"

namespace fulcrum::upstream {

struct StrategyInfo {
  std::string_view name;
  StrategyFactory factory;
  // Strategies with a shared per-HostSet table (ring_hash, maglev,
  // weighted_round_robin); null otherwise.
  TableBuilder table_builder;
  bool uses_hash = false;  // picks by the request's hash key
};

// nullptr when the name is not a built strategy.
const StrategyInfo* findStrategy(std::string_view name);
// "round_robin, ..." for error messages.
std::string strategyNames();

}  // namespace fulcrum::upstream
