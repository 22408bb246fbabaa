// The balancing seam. A Strategy is owned by one worker (no locks, no
// sharing of mutable state); it does no I/O and reads no config.
//  - rebuild() is called when the HostSet changes, never during a pick.
//  - pick() returns one of the HostSet's servers not in ctx.tried, or
//    nullptr when every server has been tried (or the set is empty).
#pragma once

#include <functional>
#include <memory>

#include "core/random.h"
#include "upstream/host_set.h"
#include "upstream/tried_set.h"

namespace fulcrum::upstream {

struct PickContext {
  const TriedSet& tried;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void rebuild(const HostSet& hosts) = 0;
  virtual const Server* pick(const PickContext& ctx) = 0;
};

using StrategyPtr = std::unique_ptr<Strategy>;
// `random` belongs to the calling worker and outlives the strategy; a
// strategy may keep a reference to it.
using StrategyFactory = std::function<StrategyPtr(Random& random)>;

}  // namespace fulcrum::upstream
