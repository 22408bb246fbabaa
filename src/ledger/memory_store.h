// The idempotency ledger in this process's memory (idempotency_store:
// type: memory): shared by every worker, lost when the process ends.
// Bounded by max_entries and max_memory: when a claim would pass either,
// the least recently used settled entries go first (an entry is used when
// it is claimed or replayed); in-flight claims are never pushed out, so a
// store full of them refuses the claim (a store error). Expired entries
// are dropped when met and before anything is pushed out.
//
// A settled entry is kept as one string (entry_codec.h) in its slot, and the
// recency order is a list threaded through the slots: a settled answer
// costs three long-lived blocks (slot, key, bytes), not one per header.
// Those blocks come from a pool of the store's own (std::pmr) over pages
// of its own (mapped_memory.h), not from the heap the requests churn.
// Slots are found through an open-addressed index (slot_index.h), sized
// at start for as many entries as the bounds let the store hold (32 bytes
// each, up to a million entries): it does not have to grow, which
// rehashes every entry under the lock.
// An answer's bytes go into their block with non-temporal stores
// (core/uncached_copy.h): the block is cold, and read again only if its
// key comes back.
// Decoding happens only when an entry is asked for (replays, conflicts,
// the admin API).
//
// A slot, once made, stays a slot until the store goes: an erased one
// waits in a list of spares for the next claim. So the place a claim
// returns (its slot) can be read at the settle whatever happened
// meanwhile, and the settle checks there that the slot still holds that
// claim for that key, instead of a second lookup in the index (a cache
// miss wherever it lands, 0.2 µs a keyed request in a profile).
//
// Thread-safe: one lock (core/spin_lock.h), taken only by keyed requests
// on ledger routes (unkeyed traffic never reaches a store). claim() and
// inspect() call `done` before they return, outside the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory_resource>
#include <string>
#include <string_view>

#include "core/spin_lock.h"
#include "ledger/mapped_memory.h"
#include "ledger/slot_index.h"
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

  // `now`: the clock, replaced by tests; null = net::TurnClock (read once a
  // callback on a loop thread, the steady clock elsewhere).
  explicit MemoryStore(MemoryStoreLimits limits, Now now = nullptr);

  void claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
             std::chrono::milliseconds in_flight_timeout, ClaimDone done) override;
  void expectClaim(std::string_view key) override;
  void settle(const std::string& key, Settlement settlement, std::chrono::milliseconds ttl,
              StoreTimings* timings) override;
  void release(const std::string& key, uint64_t claim, StoreTimings* timings) override;
  void inspect(const std::string& key, bool release, InspectDone done) override;
  int64_t entries() const override;
  bool answersAtOnce() const override { return true; }

  // Bytes charged against max_memory now.
  uint64_t memoryUsed() const;
  // The entry under `key`, if any and not expired.
  bool peek(const std::string& key, Entry& out);

 private:
  struct Slot {
    Slot(std::string_view key_bytes, uint64_t key_hash, std::pmr::memory_resource* pool)
        : hash(key_hash), stored_key(key_bytes, pool) {}
    std::string_view key() const { return stored_key; }
    std::string_view bytes() const { return {bytes_block, bytes_size}; }

    uint64_t hash;
    std::pmr::string stored_key;
    // A block of the pool: encodeEntry() of a settled entry; an in-flight
    // claim's fingerprint (claim and state are the fields below: nothing
    // to encode yet).
    char* bytes_block = nullptr;
    uint32_t bytes_size = 0;
    uint64_t claim = 0;
    EntryState state = EntryState::InFlight;
    Clock::time_point expires;
    size_t cost = 0;
    // The recency list (settled entries only).
    Slot* newer = nullptr;
    Slot* older = nullptr;
    bool in_lru = false;
  };

  static size_t costOf(std::string_view key, std::string_view bytes);
  static void readEntry(const Slot& slot, Entry& out);
  // Under the lock.
  void setBytes(Slot& slot, std::string_view bytes);
  Slot* find(std::string_view key) const;
  // A slot for `key`, a spare one if any, set up as new.
  Slot* newSlot(std::string_view key, uint64_t hash);
  // The slot at `place` (a ClaimResult::place, non-zero) if it holds
  // `key`; the caller checks that it holds the claim, as for find().
  Slot* slotAt(uint64_t place, std::string_view key) const;
  void erase(Slot* slot);
  void unlink(Slot& slot);
  void pushNewest(Slot& slot);
  void touch(Slot& slot);
  bool makeRoom(size_t cost, Clock::time_point now, bool new_slot);
  void prefetchOldest() const;

  MemoryStoreLimits limits_;
  Now now_;
  mutable core::SpinLock mutex_;
  // Used under mutex_ only; declared before the index, which they outlive.
  // Slots are never destroyed one by one at the end: everything they hold
  // is the pool's, given back whole when it goes.
  MappedMemory pages_;
  std::pmr::unsynchronized_pool_resource pool_{&pages_};
  SlotIndex<Slot> slots_;
  Slot* newest_ = nullptr;  // settled entries, most recently used first
  Slot* oldest_ = nullptr;
  Slot* spare_slots_ = nullptr;  // erased slots, linked through `older`
  uint64_t memory_ = 0;
};

}  // namespace fulcrum::ledger
