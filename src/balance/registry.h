// Maps `balance:` names to strategies: one explicit table (a
// self-registering factory would be dropped by the linker from a static
// library), read by the runtime builder and, as plain names, by the config
// validator.
#pragma once

#include <string_view>

#include "config/validate.h"
#include "upstream/strategy.h"

namespace fulcrum::balance {

// nullptr when the name is not a built strategy.
const upstream::StrategyInfo* findStrategy(std::string_view name);
// Every strategy's name and whether it hashes, for config validation.
config::StrategyNames strategyNames();

}  // namespace fulcrum::balance
