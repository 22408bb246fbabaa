// Least time: picks the untried server with the lowest expected wait,
//   score = latency * (active + 1) / weight,
// where latency is this worker's decayed peak-EWMA of response time (HTTP)
// or connect time (TCP) at ctx.now (LoadTable::latencyUs) and active is the
// number in flight. A slow server is avoided at once (peak-EWMA takes a
// slower sample immediately); an idle one's latency fades toward 0, so it is
// tried again and a faster sample brings it back.
//
// A server with no sample yet scores lowest while it has nothing in flight,
// so it gets tried. While its first request is still in flight it scores
// highest instead (Finagle's peak-EWMA penalty), so a new or recovered server
// receives one probe at a time rather than every request until the first
// answer. Among such servers, and among idle ones, (active + 1) / weight
// decides.
//
// Ties go round robin: the scan starts just after the last server picked.
// Each worker starts at a random offset. A pick is O(n) (one exp() per
// sampled server). Reads env.load.
#pragma once

#include <cstddef>

#include "upstream/strategy.h"

namespace fulcrum::balance {

class LeastTime final : public upstream::Strategy {
 public:
  explicit LeastTime(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  upstream::StrategyEnv env_;
  upstream::HostSet hosts_;
  size_t start_ = 0;
};

}  // namespace fulcrum::balance
