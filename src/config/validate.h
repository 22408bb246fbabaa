// Cross-field checks on a parsed Config: names unique, references resolve,
// addresses do not collide, strategy names exist. Appends to the same
// Diagnostics as the loader, so all of a file's errors come out together.
#pragma once

#include "config/diagnostics.h"
#include "config/schema.h"

namespace fulcrum::config {

void validate(const Config& config, Diagnostics& diag);

// What is allowed but probably a mistake (printed by -t and at start).
std::vector<Diagnostic> warnings(const Config& config);

}  // namespace fulcrum::config
