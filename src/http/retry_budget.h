// How many retries one worker may make for one upstream: at most
// `percent` of the requests of the last 10 seconds, but always at least
// `min_per_second` per second, so a failing fleet is not hammered by its
// own retries and a quiet one can still retry. Ten one-second buckets; the
// caller passes the time (tests use a manual clock). One worker's thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace fulcrum::http {

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  RetryBudget(unsigned percent, unsigned min_per_second)
      : percent_(percent), min_per_second_(min_per_second) {}

  void recordRequest(Clock::time_point now) { bucket(now).requests++; }
  // Takes one retry from the budget if there is room.
  bool tryRetry(Clock::time_point now);

 private:
  struct Bucket {
    int64_t second = -1;
    uint64_t requests = 0;
    uint64_t retries = 0;
  };
  static constexpr size_t kSeconds = 10;

  Bucket& bucket(Clock::time_point now);

  unsigned percent_;
  unsigned min_per_second_;
  std::array<Bucket, kSeconds> buckets_{};
};

}  // namespace fulcrum::http
