// Smooth weighted round robin, nginx's algorithm: on every pick each
// candidate's current weight grows by its weight, the largest current weight
// wins (the earlier server on a tie), and the winner gives back the total of
// the candidates' weights. Over any run of W picks (W = sum of weights) each
// server is picked exactly `weight` times, spread out: weights 5,1,1 give
// a a b a c a a. Weights are the effective ones (HostSet::weights).
//
// With nothing tried the sequence is a fixed cycle, so it is computed once
// per HostSet (buildWrrTable, the registry's TableBuilder) and shared by
// every worker; a pick reads the next entry: O(1), no allocation. Each
// worker starts at a random point of the cycle so workers are not in
// lockstep; each still gives every server exactly its share of every cycle.
//
// Retries (ctx.tried non-empty, rare) leave the cycle alone and run nginx's
// O(n) scan instead, with its own current weights: tried servers neither
// win nor gain current weight on that pick, and the total given back is that
// of the untried servers only (nginx's per-request `tried` bitmap), so the
// untried servers keep their ratios among themselves.
//
// rebuild() takes the HostSet's table, or builds one on the worker when the
// HostSet came without (filled by hand) or with another strategy's. It restarts the cycle at a new
// random point and resets the retry scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

// One cycle of the smooth WRR sequence for one HostSet: built once (any
// thread), then shared read-only by every worker's WeightedRoundRobin
// through HostSet::table.
struct WrrTable final : upstream::StrategyTable {
  // Positions in the HostSet, in pick order. Its length is the sum of the
  // weights divided by their greatest common divisor (10,20 -> a b b), or 0
  // for an empty set.
  std::vector<uint32_t> sequence;
  size_t host_count = 0;  // the HostSet's size, to catch a mismatched table
};

// Cycles longer than this are not stored: the weights are first scaled down
// in proportion (each to at least 1), so a table never exceeds 4 MiB and the
// ratios are then exact only to within about 1 / (scaled weight). Effective
// weights of up to 2560 for a few hundred servers stay well below it.
inline constexpr uint64_t kWrrMaxCycle = uint64_t{1} << 20;

// The HostSet::table builder for weighted_round_robin (`options` unused).
// Cost: O(L * k) for a cycle of L picks and k distinct weights, since
// servers of equal weight take their turns in HostSet order.
std::shared_ptr<const upstream::StrategyTable> buildWrrTable(
    const upstream::HostSet& hosts, const upstream::StrategyOptions& options);

// One per worker. Reads env.random at rebuild().
class WeightedRoundRobin final : public upstream::Strategy {
 public:
  explicit WeightedRoundRobin(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

  // Moves this worker to `position` (mod the cycle's length) of the cycle,
  // so a test can read the sequence from its start.
  void setCursorForTest(size_t position);

 private:
  // The retry path: nginx's scan over the untried servers. O(n).
  const upstream::Server* pickUntried(const upstream::TriedSet& tried);

  Random& random_;
  upstream::HostSet hosts_;
  std::shared_ptr<const WrrTable> table_;
  size_t cursor_ = 0;                    // the next entry of table_->sequence
  std::vector<int64_t> current_weight_;  // the retry scan's, by position
};

}  // namespace fulcrum::balance
