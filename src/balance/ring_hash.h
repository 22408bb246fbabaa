// Consistent hashing on a ketama-style ring. Each server owns
// `ring_points_per_weight * weight` points, placed at the xxh3 of
// "<label>#<i>", so every instance (and every restart) builds the same ring
// from the same config. A key goes to the owner of the first point at or
// after its hash, wrapping at the end. When a server leaves, only the keys
// it owned move; every other key keeps its server. Weights are the config's
// (Server::weight), not HostSet::weights: slow start never ramps a hash
// strategy's servers, so an effective weight would only move keys.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

// The ring for one HostSet: built once (buildRing, any thread), then shared
// read-only by every worker's RingHash through HostSet::table.
struct RingTable final : upstream::StrategyTable {
  struct Point {
    uint64_t hash;
    const upstream::Server* server;
  };
  std::vector<Point> points;                   // sorted by hash (ties by label)
  std::vector<const upstream::Server*> hosts;  // the HostSet's servers, in its order
};

// The HostSet::table builder for ring_hash. An empty HostSet gives an empty
// ring. Cost: O(P log P) for P = points_per_weight * sum of weights.
std::shared_ptr<const upstream::StrategyTable> buildRing(const upstream::HostSet& hosts,
                                                         const upstream::StrategyOptions& options);

// One per worker. rebuild() takes the HostSet's table, which must have been
// made by buildRing for that HostSet (none, or another strategy's: then
// pick() returns nullptr). pick() is O(log P), allocates nothing, and returns nullptr when
// the ring is empty or every server on it is in ctx.tried. A tried server
// is skipped by walking clockwise to the next distinct untried server.
class RingHash final : public upstream::Strategy {
 public:
  explicit RingHash(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  std::shared_ptr<const RingTable> ring_;
};

}  // namespace fulcrum::balance
