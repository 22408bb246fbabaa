// The balancing seam. A Strategy is owned by one worker (no locks, no
// sharing of mutable state); it does no I/O and reads no config.
//  - rebuild() is called when the HostSet changes, never during a pick.
//  - pick() returns one of the HostSet's servers not in ctx.tried, or
//    nullptr when every server has been tried (or the set is empty).
// Strategies with a registry TableBuilder (ring_hash, maglev,
// weighted_round_robin) read an immutable table that was built once per
// HostSet and is shared by every worker (HostSet::table). Hash strategies
// never build one on a worker; weighted_round_robin builds its own only when
// a HostSet arrives without one (tests that fill HostSets by hand).
// Non-hash strategies weigh servers by HostSet::weights, never by
// Server::weight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "core/random.h"
#include "upstream/host_set.h"
#include "upstream/load.h"
#include "upstream/tried_set.h"

namespace fulcrum::upstream {

struct PickContext {
  const TriedSet& tried;
  // The request's hash key (64-bit xxh3 of it), for hash strategies. The
  // picker never calls a hash strategy without one (it falls back to round
  // robin and counts that).
  uint64_t hash = 0;
  // The time of this pick; the picker sets it, tests choose it. No built-in
  // strategy reads it: least_time ranks servers by a key that latency decay
  // does not reorder (LoadTable::latencyRank).
  std::chrono::steady_clock::time_point now{};
};

// Per-upstream tuning from the config, fixed for a Runtime.
struct StrategyOptions {
  unsigned ring_points_per_weight = 160;  // ring_hash
  uint32_t maglev_table_size = 65537;     // maglev; a prime
};

// What a strategy may use. Everything outlives the strategy; the strategy
// may keep the pointers. Random and LoadTable belong to the worker.
// `load` is writable only so a strategy can register itself as a
// LoadObserver (and must unregister in its destructor); strategies never
// change the counts or latencies, the data path does.
struct StrategyEnv {
  Random* random = nullptr;
  LoadTable* load = nullptr;
  const StrategyOptions* options = nullptr;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void rebuild(const HostSet& hosts) = 0;
  virtual const Server* pick(const PickContext& ctx) = 0;
};

using StrategyPtr = std::unique_ptr<Strategy>;
using StrategyFactory = std::function<StrategyPtr(const StrategyEnv& env)>;
// Builds a strategy's shared table for a HostSet (any thread).
using TableBuilder = std::function<std::shared_ptr<const StrategyTable>(
    const HostSet& hosts, const StrategyOptions& options)>;

// One strategy as the registry (balance/registry.h) describes it.
struct StrategyInfo {
  std::string_view name;
  StrategyFactory factory;
  // Strategies with a shared per-HostSet table (ring_hash, maglev,
  // weighted_round_robin); null otherwise.
  TableBuilder table_builder;
  bool uses_hash = false;  // picks by the request's hash key
  // Hash strategies: what picks for a request that has no key (the picker
  // counts those picks); null otherwise.
  StrategyFactory keyless;
};

}  // namespace fulcrum::upstream
