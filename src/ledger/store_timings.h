// How long the ledger's store took to answer, by operation, for
// fulcrum_idempotency_store_seconds: a histogram per operation whose
// buckets run from a memory store's microseconds to a slow Redis's
// tenths of a second. Plain integers, written by one worker's thread
// (each worker generation has its own, in its WorkerMetrics) and summed
// when scraped, like the other data-path counters.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace fulcrum::ledger {

enum class StoreOperation : uint8_t { Claim, Settle, Release };
inline constexpr size_t kStoreOperations = 3;
const char* storeOperationName(StoreOperation operation);

inline constexpr std::array<double, 12> kStoreBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25};

struct StoreTimings {
  struct Series {
    std::array<uint64_t, kStoreBuckets.size() + 1> counts{};  // last = +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  std::array<Series, kStoreOperations> by_operation{};

  void observe(StoreOperation operation, std::chrono::steady_clock::duration took);
  void merge(const StoreTimings& other);
};

}  // namespace fulcrum::ledger
