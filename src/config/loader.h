// Reads a config file: YAML -> typed Config (this file) -> cross-field
// validation (validate.h). Every problem found is reported, with its
// file:line:column, in one pass; a Config is returned only when there is
// none, so nothing is ever built from a half-valid file.
// Runs on the control thread (address resolution blocks).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"
#include "config/validate.h"

namespace fulcrum::config {

struct LoadResult {
  std::optional<Config> config;    // set only when errors is empty
  std::vector<Diagnostic> errors;  // in file order
};

// `strategies`: the balancing strategies the binary has
// (balance::strategyNames()).
LoadResult loadConfigFile(const std::string& path, const StrategyNames& strategies);
// For tests and tools: `display_name` stands in for the path in messages.
LoadResult loadConfigText(const std::string& yaml, const std::string& display_name,
                          const StrategyNames& strategies);

}  // namespace fulcrum::config
