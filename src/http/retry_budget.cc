#include "http/retry_budget.h"

#include <algorithm>

namespace fulcrum::http {

RetryBudget::Bucket& RetryBudget::bucket(Clock::time_point now) {
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Bucket& slot = buckets_[static_cast<size_t>(second) % kSeconds];
  if (slot.second != second) slot = Bucket{second, 0, 0};
  return slot;
}

bool RetryBudget::tryRetry(Clock::time_point now) {
  Bucket& current = bucket(now);
  const int64_t oldest = current.second - static_cast<int64_t>(kSeconds) + 1;
  uint64_t requests = 0;
  uint64_t retries = 0;
  for (const Bucket& slot : buckets_) {
    if (slot.second < oldest) continue;  // older than the window
    requests += slot.requests;
    retries += slot.retries;
  }
  const uint64_t allowed =
      std::max<uint64_t>(requests * percent_ / 100, uint64_t{min_per_second_} * kSeconds);
  if (retries >= allowed) return false;
  ++current.retries;
  return true;
}

}  // namespace fulcrum::http
