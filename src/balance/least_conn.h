// Least connections, weighted: picks the untried server with the fewest
// requests (HTTP) or connections (TCP) in flight per unit of effective weight
// (HostSet::weights), counting the request about to be sent:
// (active + 1) / weight, compared by cross multiplication (no division,
// exact). Counting the new request makes weight matter even when every
// server is idle, and makes a weight-2 server with 3 in flight tie a
// weight-1 server with 1.
//
// Ties go round robin (least recently picked first); each worker starts at
// a random offset. The servers live in a heap that follows env.load (see
// LeastScore): a pick is O(1) plus O(log n) bookkeeping, a load change
// O(log n), a retry with t tried servers O(t log t). One per worker; it
// registers with env.load, which must outlive it.
#pragma once

#include <cstdint>

#include "balance/least_score.h"

namespace fulcrum::balance {

// (active + 1) / weight as a fraction; lower is less loaded.
struct ConnScore {
  uint64_t load = 1;    // active + 1
  uint64_t weight = 1;  // the effective weight, > 0
  bool operator<(const ConnScore& other) const { return load * other.weight < other.load * weight; }
};

class LeastConn final : public LeastScore<LeastConn, ConnScore> {
 public:
  explicit LeastConn(const upstream::StrategyEnv& env) : LeastScore(env) {}

 private:
  friend class LeastScore<LeastConn, ConnScore>;
  static constexpr bool kScoresLatency = false;
  ConnScore scoreOf(uint32_t position, uint32_t server_index) const;
};

}  // namespace fulcrum::balance
