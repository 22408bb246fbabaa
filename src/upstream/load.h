// The live load of one upstream's servers as one worker sees it, by
// Server::index: requests (HTTP) or connections (TCP) in flight, and a
// peak-EWMA of latency (response time for HTTP, connect time for TCP).
// Written by the worker's data path, read by its strategies at pick time;
// one worker's thread only, no atomics, no locks.
//
// Strategies that keep the servers ordered by load (least_conn, least_time)
// register a LoadObserver and are told of every change as it happens, so a
// pick never has to look at every server.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace fulcrum::upstream {

// What changed about a server, so an observer can ignore what it does not
// score by (least_conn ignores latency).
enum class LoadChange {
  Active,   // started() or finished()
  Latency,  // observeLatency()
};

// Told after a server's load or latency changed. Called synchronously from
// LoadTable::started / finished / observeLatency, on the worker's thread.
// An observer must not add or remove observers, nor change the load, from
// inside loadChanged().
class LoadObserver {
 public:
  virtual void loadChanged(uint32_t server_index, LoadChange change) = 0;

 protected:
  ~LoadObserver() = default;
};

class LoadTable {
 public:
  using Clock = std::chrono::steady_clock;

  // `decay`: how fast an old latency sample fades (the EWMA's time constant).
  explicit LoadTable(size_t servers, std::chrono::milliseconds decay = std::chrono::seconds(10));
  // Observers hold a pointer to this table: it stays where it was built.
  LoadTable(const LoadTable&) = delete;
  LoadTable& operator=(const LoadTable&) = delete;

  void started(uint32_t index) {
    ++entries_[index].active;
    notify(index, LoadChange::Active);
  }
  void finished(uint32_t index) {
    if (entries_[index].active > 0) --entries_[index].active;
    notify(index, LoadChange::Active);
  }
  uint32_t active(uint32_t index) const { return entries_[index].active; }

  // Peak-EWMA: a slower sample than the average takes over at once, a
  // faster one pulls it down as time passes (Finagle's load metric).
  void observeLatency(uint32_t index, std::chrono::microseconds latency, Clock::time_point now);
  // The decayed latency in microseconds; 0 before any sample.
  double latencyUs(uint32_t index, Clock::time_point now) const;

  // Whether the server has a latency sample (latencyUs() can be non-zero).
  bool sampled(uint32_t index) const { return entries_[index].ewma_us != 0; }
  // ln(latencyUs(index, now)) + now / decay, the same for every `now` at or
  // after the last sample, since the decay is one exponential shared by all
  // servers. Comparing ranks therefore orders sampled servers by their
  // decayed latency at any such `now`, and a rank changes only when a sample
  // arrives. Meaningful only when sampled().
  double latencyRank(uint32_t index) const;

  size_t size() const { return entries_.size(); }

  // `observer` must outlive its registration: remove it before it dies.
  void addObserver(LoadObserver* observer);
  void removeObserver(LoadObserver* observer);

 private:
  struct Entry {
    uint32_t active = 0;
    double ewma_us = 0;
    Clock::time_point stamp;
    // latencyRank(), computed on first use after each sample: only
    // least_time asks, and the log() is not free for the others.
    mutable double rank = 0;
    mutable bool rank_known = false;
  };

  void notify(uint32_t index, LoadChange change) {
    for (LoadObserver* observer : observers_) observer->loadChanged(index, change);
  }

  std::vector<Entry> entries_;
  double decay_us_;
  // A worker has at most a few per upstream (the primaries' and the
  // backups' strategies): a vector beats any set.
  std::vector<LoadObserver*> observers_;
};

}  // namespace fulcrum::upstream
