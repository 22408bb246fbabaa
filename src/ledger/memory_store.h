// The idempotency ledger in this process's memory (idempotency_store:
// type: memory): shared by every worker, lost when the process ends.
// Bounded by max_entries and max_memory: when a claim would pass either,
// the least recently used settled entries go first (an entry is used when
// it is claimed or replayed); in-flight claims are never pushed out, so a
// store full of them refuses the claim (a store error). Expired entries
// are dropped when met and before anything is pushed out.
//
// Thread-safe: one mutex, taken only by keyed requests on ledger routes
// (unkeyed traffic never reaches a store). claim() and inspect() call
// `done` before they return, outside the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ledger/store.h"

namespace fulcrum::ledger {

struct MemoryStoreLimits {
  uint64_t max_entries = 1000000;
  uint64_t max_memory = 256ull * 1024 * 1024;  // bytes
};

class MemoryStore final : public Store {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  // `now`: the clock, replaced by tests; null = steady_clock.
  explicit MemoryStore(MemoryStoreLimits limits, Now now = nullptr);

  void claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
             std::chrono::milliseconds in_flight_timeout, ClaimDone done) override;
  void settle(const std::string& key, Entry entry, std::chrono::milliseconds ttl,
              StoreTimings* timings) override;
  void release(const std::string& key, uint64_t claim, StoreTimings* timings) override;
  void inspect(const std::string& key, bool release, InspectDone done) override;
  int64_t entries() const override;

  // Bytes charged against max_memory now.
  uint64_t memoryUsed() const;
  // The entry under `key`, if any and not expired.
  bool peek(const std::string& key, Entry& out) const;

 private:
  struct Slot {
    Entry entry;
    Clock::time_point expires;
    size_t cost = 0;
    std::list<std::string>::iterator lru;  // settled entries only
    bool in_lru = false;
  };
  using Map = std::unordered_map<std::string, Slot>;

  static size_t costOf(const std::string& key, const Entry& entry);
  // Under the lock.
  void erase(Map::iterator it);
  void touch(Slot& slot);
  bool makeRoom(size_t cost, Clock::time_point now, bool new_slot);

  MemoryStoreLimits limits_;
  Now now_;
  mutable std::mutex mutex_;
  Map slots_;
  std::list<std::string> lru_;  // settled keys, most recently used first
  uint64_t memory_ = 0;
};

}  // namespace fulcrum::ledger
