// Cross-field checks on a parsed Config: names unique, references resolve,
// addresses do not collide, strategy names exist. Appends to the same
// Diagnostics as the loader, so all of a file's errors come out together.
#pragma once

#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"

namespace fulcrum::config {

// The `balance:` names a config may use, given by the layer that builds
// the strategies (balance/registry.h), which config cannot include.
struct StrategyName {
  std::string name;
  bool uses_hash = false;  // needs a hash_key
};
using StrategyNames = std::vector<StrategyName>;

void validate(const Config& config, const StrategyNames& strategies, Diagnostics& diag);

// What is allowed but probably a mistake: config/warnings.h.

}  // namespace fulcrum::config
