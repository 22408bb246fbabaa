// The live load of one upstream's servers as one worker sees it, by
// Server::index: requests (HTTP) or connections (TCP) in flight, and a
// peak-EWMA of latency (response time for HTTP, connect time for TCP).
// Written by the worker's data path, read by its strategies at pick time;
// one worker's thread only, no atomics, no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace fulcrum::upstream {

class LoadTable {
 public:
  using Clock = std::chrono::steady_clock;

  // `decay`: how fast an old latency sample fades (the EWMA's time constant).
  explicit LoadTable(size_t servers, std::chrono::milliseconds decay = std::chrono::seconds(10));

  void started(uint32_t index) { ++entries_[index].active; }
  void finished(uint32_t index) {
    if (entries_[index].active > 0) --entries_[index].active;
  }
  uint32_t active(uint32_t index) const { return entries_[index].active; }

  // Peak-EWMA: a slower sample than the average takes over at once, a
  // faster one pulls it down as time passes (Finagle's load metric).
  void observeLatency(uint32_t index, std::chrono::microseconds latency, Clock::time_point now);
  // The decayed latency in microseconds; 0 before any sample.
  double latencyUs(uint32_t index, Clock::time_point now) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t active = 0;
    double ewma_us = 0;
    Clock::time_point stamp;
  };
  std::vector<Entry> entries_;
  double decay_us_;
};

}  // namespace fulcrum::upstream
