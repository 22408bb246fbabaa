// One worker's picker for one upstream: a strategy over the primaries and
// another over the backups. Backups are asked only when no primary can be
// picked (all tried, or none usable). A hash strategy asked without a key
// (the request lacks it) falls back to round robin, and that is counted.
// Owned by one worker; not thread-safe. Holds a reference to the Upstream,
// whose Runtime must outlive it; owns the worker's LoadTable for it, which
// the load-ordered strategies (least_conn, least_time) observe: the data
// path's started() / finished() / observeLatency() keep them up to date.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "upstream/load.h"
#include "upstream/upstream.h"

namespace fulcrum::upstream {

class UpstreamPicker {
 public:
  UpstreamPicker(const Upstream& upstream, Random& random);

  // Rebuilds the strategies from new primaries and backups, filled with
  // HostSet::add() and carrying the registry's table when the strategy has
  // a TableBuilder, and keeps the standby list.
  void rebuild(const HostSets& hosts);
  // A server not in `tried`, primaries first; nullptr when none is left.
  // `hash`: the request's key, for hash strategies.
  const Server* pick(const TriedSet& tried, std::optional<uint64_t> hash = std::nullopt);
  // An ejected server not in `tried` (HostSets::standby), taken in turn so
  // that requests spread over them; nullptr when none is left.
  const Server* pickStandby(const TriedSet& tried);

  const Upstream& upstream() const { return upstream_; }
  bool usesHash() const { return upstream_.strategy->uses_hash; }
  LoadTable& load() { return load_; }
  // Picks a hash strategy had to make without a key.
  uint64_t picksWithoutKey() const { return picks_without_key_; }

 private:
  const Upstream& upstream_;
  // Before the strategies: they register with it and must leave first.
  LoadTable load_;
  StrategyEnv env_;
  StrategyPtr primaries_;
  StrategyPtr backups_;
  // For requests without the hash key: plain round robin over the same hosts.
  StrategyPtr fallback_primaries_;
  StrategyPtr fallback_backups_;
  std::vector<const Server*> standby_;
  size_t next_standby_ = 0;
  uint64_t picks_without_key_ = 0;
};

}  // namespace fulcrum::upstream
