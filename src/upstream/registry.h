// Maps `balance:` names to strategy factories: one table, asked by the
// config validator (to list valid names) and by the runtime builder.
#pragma once

#include <string>
#include <string_view>

#include "upstream/strategy.h"

namespace fulcrum::upstream {

// nullptr when the name is not a built strategy.
const StrategyFactory* findStrategy(std::string_view name);
// Names in the design that this version does not build yet.
bool isPlannedStrategy(std::string_view name);
// "round_robin, ..." for error messages.
std::string strategyNames();

}  // namespace fulcrum::upstream
