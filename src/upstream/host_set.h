// The servers a strategy may pick from: an immutable snapshot, rebuilt by
// whoever owns health state whenever membership, weight or usability
// changes. Pointers stay valid for the life of the Runtime that owns the
// Servers, which outlives every HostSet built from it.
#pragma once

#include <vector>

#include "upstream/server.h"

namespace fulcrum::upstream {

struct HostSet {
  std::vector<const Server*> hosts;
};

}  // namespace fulcrum::upstream
