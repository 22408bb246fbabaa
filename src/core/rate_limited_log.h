// Log lines that can repeat at the rate of traffic (accept() failing with
// EMFILE, every request of a sick upstream answered 503, a client hammering
// /api with a wrong token) are kept to a few per interval per call site:
// the first `burst` lines of each interval are written, the rest are only
// counted, and the next line written says how many were left out:
//   "... (1234 more like this in the last 9.8s)".
// A flood that stops for good leaves its last count to the next line of
// the same site (there is no timer to write it on its own).
//
// Use one limiter per call site, as a function-local static:
//   static log::Limited limited;
//   limited.warn("listener %s: accept failed: %s", ...);
// Thread-safe (a mutex held only to decide; formatting happens outside it).
// Lines below the log level are neither written nor counted.
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <mutex>

#include "core/log.h"

namespace fulcrum::log {

// The decision alone, with the time passed in (tests drive it by hand).
class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  // `burst` >= 1 lines per `interval`.
  RateLimit(unsigned burst, std::chrono::milliseconds interval);

  struct Pass {
    bool write = false;
    // Lines left out before this one (reported once, with this line), and
    // the time from the first of them to now.
    uint64_t suppressed = 0;
    std::chrono::milliseconds span{0};
  };
  Pass admit(Clock::time_point now);

 private:
  const unsigned burst_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  bool started_ = false;
  Clock::time_point window_start_;
  unsigned written_ = 0;
  uint64_t suppressed_ = 0;
  Clock::time_point first_suppressed_;
};

class Limited {
 public:
  explicit Limited(unsigned burst = 10,
                   std::chrono::milliseconds interval = std::chrono::seconds(10))
      : limit_(burst, interval) {}

  void info(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void warn(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void error(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

 private:
  void write(Level level, const char* fmt, va_list args);

  RateLimit limit_;
};

}  // namespace fulcrum::log
