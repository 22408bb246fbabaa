#include "ledger/store_timings.h"

namespace fulcrum::ledger {

const char* storeOperationName(StoreOperation operation) {
  switch (operation) {
    case StoreOperation::Claim:
      return "claim";
    case StoreOperation::Settle:
      return "settle";
    case StoreOperation::Release:
      return "release";
  }
  return "claim";
}

void StoreTimings::observe(StoreOperation operation, std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  Series& series = by_operation[static_cast<size_t>(operation)];
  size_t bucket = 0;
  while (bucket < kStoreBuckets.size() && seconds > kStoreBuckets[bucket]) ++bucket;
  ++series.counts[bucket];
  series.sum += seconds;
  ++series.count;
}

void StoreTimings::merge(const StoreTimings& other) {
  for (size_t o = 0; o < kStoreOperations; ++o) {
    for (size_t b = 0; b < by_operation[o].counts.size(); ++b)
      by_operation[o].counts[b] += other.by_operation[o].counts[b];
    by_operation[o].sum += other.by_operation[o].sum;
    by_operation[o].count += other.by_operation[o].count;
  }
}

}  // namespace fulcrum::ledger
