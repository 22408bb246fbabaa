// One worker's picker for one upstream: a strategy over the primaries and
// another over the backups. Backups are asked only when no primary can be
// picked (all tried, or none usable). Owned by one worker; not thread-safe.
// Holds a reference to the Upstream, whose Runtime must outlive it.
#pragma once

#include "upstream/upstream.h"

namespace fulcrum::upstream {

class UpstreamPicker {
 public:
  UpstreamPicker(const Upstream& upstream, Random& random);

  // Rebuilds both strategies from the servers usable now.
  void rebuild(const HostSet& usable);
  // A server not in `tried`, primaries first; nullptr when none is left.
  const Server* pick(const TriedSet& tried);

  const Upstream& upstream() const { return upstream_; }

 private:
  const Upstream& upstream_;
  StrategyPtr primaries_;
  StrategyPtr backups_;
};

}  // namespace fulcrum::upstream
