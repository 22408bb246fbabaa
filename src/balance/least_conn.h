// Least connections, weighted: picks the untried server with the fewest
// requests (HTTP) or connections (TCP) in flight per unit of weight, counting
// the request about to be sent: (active + 1) / weight, compared by cross
// multiplication (no division, exact). Counting the new request makes weight
// matter even when every server is idle, and makes a weight-2 server with 3
// in flight tie a weight-1 server with 1.
//
// Ties go round robin: the scan starts just after the last server picked, and
// the first server with the lowest load wins. Each worker starts at a random
// offset. A pick is O(n). Reads env.load (this worker's in-flight counts).
#pragma once

#include <cstddef>

#include "upstream/strategy.h"

namespace fulcrum::balance {

class LeastConn final : public upstream::Strategy {
 public:
  explicit LeastConn(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  upstream::StrategyEnv env_;
  upstream::HostSet hosts_;
  size_t start_ = 0;
};

}  // namespace fulcrum::balance
