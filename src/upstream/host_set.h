// The servers a strategy may pick from: an immutable snapshot, rebuilt by
// whoever owns health state whenever membership, weight or usability
// changes. Pointers stay valid for the life of the Runtime that owns the
// Servers, which outlives every HostSet built from it. Servers with weight
// 0 (drained) are never in a HostSet.
#pragma once

#include <memory>
#include <vector>

#include "upstream/server.h"

namespace fulcrum::upstream {

struct HostSet {
  std::vector<const Server*> hosts;
  // A hash strategy's table for exactly these hosts (ring, Maglev lookup),
  // built once and shared read-only by every worker; null otherwise.
  std::shared_ptr<const void> table;
};

}  // namespace fulcrum::upstream
