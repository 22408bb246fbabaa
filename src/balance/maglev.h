// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
// M slots (a prime, `maglev_table_size`), filled by letting each server
// claim slots in turn along its own permutation of the table. A key goes to
// slot `hash % M`. Load is even to within a slot or two per server, every
// instance builds the same table from the same config (the permutation comes
// from the xxh3 of the server's label, and servers are ordered by label),
// and when a server leaves, few keys besides its own move.
//
// Weights follow Envoy's weighted Maglev: in round r a server of weight w
// claims a slot only while r * w >= k * max_weight, k being the slots it has
// claimed so far, so it gets about w / sum(weights) of the table. w is the
// config's Server::weight, not HostSet::weights: slow start never ramps a
// hash strategy's servers, so an effective weight would only move keys.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

// The lookup table for one HostSet: built once (buildMaglevTable, any
// thread), then shared read-only by every worker's Maglev through
// HostSet::table.
struct MaglevTable final : upstream::StrategyTable {
  std::vector<const upstream::Server*> slots;  // M entries; empty for no hosts
  std::vector<const upstream::Server*> hosts;  // the HostSet's servers, in its order
};

// The HostSet::table builder for maglev. `options.maglev_table_size` should
// be a prime (the config validator insists); any other value is raised to
// the next prime so the fill always ends. Cost: O(M log M) typical.
std::shared_ptr<const upstream::StrategyTable> buildMaglevTable(
    const upstream::HostSet& hosts, const upstream::StrategyOptions& options);

// One per worker. rebuild() takes the HostSet's table, which must have been
// made by buildMaglevTable for that HostSet (none, or another strategy's:
// then pick() returns nullptr). pick() is one table lookup and allocates nothing; a
// tried server is skipped by walking forward slot by slot to the next
// distinct untried server. nullptr when the table is empty or every server
// in it is in ctx.tried.
class Maglev final : public upstream::Strategy {
 public:
  explicit Maglev(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  std::shared_ptr<const MaglevTable> table_;
};

}  // namespace fulcrum::balance
