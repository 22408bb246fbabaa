#include "balance/least_time.h"

#include <cmath>

namespace fulcrum::balance {

TimeScore LeastTime::scoreOf(uint32_t position) const {
  const upstream::HostSet& set = hosts();
  const uint32_t index = set.hosts[position]->index;
  const uint32_t active = load().active(index);
  const double per_weight =
      (static_cast<double>(active) + 1.0) / static_cast<double>(set.weights[position]);
  if (!load().sampled(index)) {
    // No sample: probe it, one at a time.
    return TimeScore{active == 0 ? TimeScore::kUnsampledIdle : TimeScore::kUnsampledBusy,
                     per_weight};
  }
  return TimeScore{TimeScore::kSampled, load().latencyRank(index) + std::log(per_weight)};
}

}  // namespace fulcrum::balance
