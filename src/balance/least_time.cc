#include "balance/least_time.h"

#include <array>
#include <cmath>

namespace fulcrum::balance {
namespace {

// ln(active + 1): a few in flight is the common case, and every started()
// and finished() re-scores, so the small ones come from a table.
double logActivePlusOne(uint32_t active) {
  static const std::array<double, 64> table = [] {
    std::array<double, 64> logs{};
    for (size_t i = 0; i < logs.size(); ++i) logs[i] = std::log(static_cast<double>(i + 1));
    return logs;
  }();
  return active < table.size() ? table[active] : std::log(static_cast<double>(active) + 1.0);
}

}  // namespace

void LeastTime::prepare() {
  const upstream::HostSet& set = hosts();
  log_weight_.resize(set.weights.size());
  for (size_t p = 0; p < set.weights.size(); ++p)
    log_weight_[p] = std::log(static_cast<double>(set.weights[p]));
}

TimeScore LeastTime::scoreOf(uint32_t position, uint32_t index) const {
  const upstream::HostSet& set = hosts();
  const uint32_t active = load().active(index);
  if (!load().sampled(index)) {
    // No sample: probe it, one at a time.
    const double per_weight =
        (static_cast<double>(active) + 1.0) / static_cast<double>(set.weights[position]);
    return TimeScore{active == 0 ? TimeScore::kUnsampledIdle : TimeScore::kUnsampledBusy,
                     per_weight};
  }
  return TimeScore{TimeScore::kSampled,
                   load().latencyRank(index) + logActivePlusOne(active) - log_weight_[position]};
}

}  // namespace fulcrum::balance
