#include "ledger/memory_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "core/uncached_copy.h"
#include "ledger/entry_codec.h"
#include "net/turn_clock.h"

namespace fulcrum::ledger {
namespace {

// What an entry costs beyond its key and bytes: the slot, its share of the
// index (kept at most half full, doubling) and the pool's rounding of each
// block up to its size class. Measured: a store growing by ~120,000
// answers of the bench (key 77 bytes, encoding ~216) grew the process by
// 522 bytes per entry.
constexpr size_t kSlotOverhead = 232;

// The index is made at start for the entries the bounds allow, up to this
// many (a table of 32 MiB); a larger store's index grows past it.
constexpr uint64_t kMostPresizedEntries = 1024 * 1024;

// Adds the time from its making to its end (the wait for the lock
// included: that is what the request waits) to `timings`, if any.
class TimedCall {
 public:
  TimedCall(StoreTimings* timings, StoreOperation operation)
      : timings_(timings), operation_(operation), start_(std::chrono::steady_clock::now()) {}
  ~TimedCall() {
    if (timings_ != nullptr)
      timings_->observe(operation_, std::chrono::steady_clock::now() - start_);
  }
  TimedCall(const TimedCall&) = delete;
  TimedCall& operator=(const TimedCall&) = delete;

 private:
  StoreTimings* timings_;
  StoreOperation operation_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

MemoryStore::MemoryStore(MemoryStoreLimits limits, Now now)
    : limits_(limits),
      now_(now ? std::move(now) : Now([] { return net::TurnClock::now(); })),
      slots_(&pages_, std::min({limits.max_entries, limits.max_memory / kSlotOverhead,
                                kMostPresizedEntries})) {}

size_t MemoryStore::costOf(std::string_view key, std::string_view bytes) {
  return kSlotOverhead + key.size() + bytes.size();
}

void MemoryStore::unlink(Slot& slot) {
  if (!slot.in_lru) return;
  (slot.newer != nullptr ? slot.newer->older : newest_) = slot.older;
  (slot.older != nullptr ? slot.older->newer : oldest_) = slot.newer;
  slot.newer = slot.older = nullptr;
  slot.in_lru = false;
}

void MemoryStore::pushNewest(Slot& slot) {
  slot.older = newest_;
  slot.newer = nullptr;
  (newest_ != nullptr ? newest_->newer : oldest_) = &slot;
  newest_ = &slot;
  slot.in_lru = true;
}

void MemoryStore::readEntry(const Slot& slot, Entry& out) {
  if (slot.state != EntryState::InFlight) {
    decodeEntry(slot.bytes(), out);
    return;
  }
  out.state = EntryState::InFlight;
  out.fingerprint.assign(slot.bytes());
  out.claim = slot.claim;
}

MemoryStore::Slot* MemoryStore::find(std::string_view key) const {
  return slots_.find(key, SlotIndex<Slot>::hash(key));
}

void MemoryStore::setBytes(Slot& slot, std::string_view bytes) {
  if (slot.bytes_block != nullptr) pool_.deallocate(slot.bytes_block, slot.bytes_size, 1);
  slot.bytes_block = nullptr;
  slot.bytes_size = 0;
  if (bytes.empty()) return;
  slot.bytes_block = static_cast<char*>(pool_.allocate(bytes.size(), 1));
  slot.bytes_size = static_cast<uint32_t>(bytes.size());
  core::copyUncached(slot.bytes_block, bytes.data(), bytes.size());
}

void MemoryStore::erase(Slot* slot) {
  setBytes(*slot, {});
  unlink(*slot);
  memory_ -= slot->cost;
  slots_.erase(slot->hash, slot);
  // Kept as a slot (store header): no claim, no key bytes held.
  slot->claim = 0;
  slot->cost = 0;
  slot->stored_key.clear();
  slot->stored_key.shrink_to_fit();
  slot->older = spare_slots_;
  spare_slots_ = slot;
}

MemoryStore::Slot* MemoryStore::newSlot(std::string_view key, uint64_t hash) {
  if (spare_slots_ == nullptr)
    return std::pmr::polymorphic_allocator<Slot>(&pool_).new_object<Slot>(key, hash, &pool_);
  Slot* slot = spare_slots_;
  spare_slots_ = slot->older;
  slot->hash = hash;
  slot->stored_key.assign(key);
  slot->newer = slot->older = nullptr;
  slot->in_lru = false;
  return slot;
}

MemoryStore::Slot* MemoryStore::slotAt(uint64_t place, std::string_view key) const {
  Slot* slot = reinterpret_cast<Slot*>(static_cast<uintptr_t>(place));
  return slot->key() == key ? slot : nullptr;
}

void MemoryStore::touch(Slot& slot) {
  if (!slot.in_lru || newest_ == &slot) return;
  unlink(slot);
  pushNewest(slot);
}

bool MemoryStore::makeRoom(size_t cost, Clock::time_point now, bool new_slot) {
  auto over = [&] {
    return slots_.size() + (new_slot ? 1 : 0) > limits_.max_entries ||
           memory_ + cost > limits_.max_memory;
  };
  if (!over()) return true;
  // Expired entries near the cold end go first, then the least recently
  // used. The look for expired ones is short: a full store must not cost a
  // walk of a million entries per claim.
  Slot* slot = oldest_;
  for (int looked = 0; over() && slot != nullptr && looked < 16; ++looked) {
    Slot* newer = slot->newer;
    if (slot->expires <= now) erase(slot);
    slot = newer;
  }
  while (over() && oldest_ != nullptr) erase(oldest_);
  prefetchOldest();
  return !over();
}

// A full store pushes out its oldest entry at nearly every claim and
// settle, and every line of that entry (slot, key, bytes, index pair) has
// gone cold since it was kept. The next one to go is known now: its lines
// are fetched while the request goes on, and its own slot was fetched one
// push earlier, so reading where they are rarely misses. (A prefetch the
// hardware drops costs nothing: the push then misses as it did before.)
void MemoryStore::prefetchOldest() const {
  const Slot* next = oldest_;
  if (next == nullptr) return;
  __builtin_prefetch(next->bytes_block, 1);
  __builtin_prefetch(next->stored_key.data());
  slots_.prefetch(next->hash);
  if (next->newer != nullptr) __builtin_prefetch(next->newer, 1);
}

// In a big ledger a new key's index line is a cache miss wherever it
// lands: 90 % of claim()'s samples sat on its first load in a profile.
// Fetched when the request's head names the key, the line is there by the
// time the body is read and the fingerprint made.
void MemoryStore::expectClaim(std::string_view key) {
  slots_.prefetchUnlocked(SlotIndex<Slot>::hash(key));
}

void MemoryStore::claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
                        std::chrono::milliseconds in_flight_timeout, ClaimDone done) {
  ClaimResult result;
  {
    std::lock_guard lock(mutex_);
    const Clock::time_point now = now_();
    const uint64_t hash = SlotIndex<Slot>::hash(key);
    Slot* found = slots_.find(key, hash);
    // An expired entry, or a claim whose holder has been gone too long,
    // counts as no entry.
    if (found != nullptr && found->expires <= now) {
      erase(found);
      found = nullptr;
    }
    if (found != nullptr) {
      touch(*found);
      result.status = ClaimStatus::Exists;
      readEntry(*found, result.entry);
    } else {
      const size_t cost = costOf(key, fingerprint);
      if (makeRoom(cost, now, /*new_slot=*/true)) {
        Slot* slot = newSlot(key, hash);
        setBytes(*slot, fingerprint);
        slot->claim = claim;
        slot->state = EntryState::InFlight;
        slot->expires = now + in_flight_timeout;
        slot->cost = cost;
        slots_.insert(hash, slot);
        memory_ += cost;
        result.status = ClaimStatus::Claimed;
        result.place = reinterpret_cast<uintptr_t>(slot);
      } else {
        result.status = ClaimStatus::StoreError;
        result.error = "the memory ledger is full of requests in flight";
      }
    }
  }
  done(std::move(result));
}

void MemoryStore::settle(const std::string& key, Settlement settlement,
                         std::chrono::milliseconds ttl, StoreTimings* timings) {
  const TimedCall timed(timings, StoreOperation::Settle);
  std::lock_guard lock(mutex_);
  Slot* found = settlement.place != 0 ? slotAt(settlement.place, key) : find(key);
  if (found == nullptr || found->claim != settlement.claim || found->state != EntryState::InFlight)
    return;
  const Clock::time_point now = now_();
  // The claim's own cost is given back before room is made for the answer.
  memory_ -= found->cost;
  found->cost = 0;
  if (!makeRoom(costOf(key, settlement.bytes), now, /*new_slot=*/false)) {
    // Too large for the whole store: kept as answered, without the answer
    // (the fingerprint the claim kept says which request it was).
    Entry not_kept;
    readEntry(*found, not_kept);
    not_kept.state = EntryState::NotKept;
    settlement = settlementOf(not_kept);
  }
  // makeRoom never pushes out in-flight slots, so `found` is still there.
  found->cost = costOf(key, settlement.bytes);
  memory_ += found->cost;
  setBytes(*found, settlement.bytes);
  found->state = settlement.state;
  found->expires = now + ttl;
  pushNewest(*found);
}

void MemoryStore::release(const std::string& key, uint64_t claim, StoreTimings* timings) {
  const TimedCall timed(timings, StoreOperation::Release);
  std::lock_guard lock(mutex_);
  Slot* found = find(key);
  if (found != nullptr && found->claim == claim && found->state == EntryState::InFlight)
    erase(found);
}

void MemoryStore::inspect(const std::string& key, bool release, InspectDone done) {
  Inspection inspection;
  {
    std::lock_guard lock(mutex_);
    Slot* found = find(key);
    if (found == nullptr || found->expires <= now_()) {
      inspection.result = Inspection::Result::NotFound;
    } else {
      inspection.result = Inspection::Result::Found;
      readEntry(*found, inspection.entry);
      if (release) {
        erase(found);
        inspection.released = true;
      }
    }
  }
  done(std::move(inspection));
}

int64_t MemoryStore::entries() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(slots_.size());
}

uint64_t MemoryStore::memoryUsed() const {
  std::lock_guard lock(mutex_);
  return memory_;
}

bool MemoryStore::peek(const std::string& key, Entry& out) {
  bool found = false;
  inspect(key, /*release=*/false, [&](Inspection inspection) {
    found = inspection.result == Inspection::Result::Found;
    if (found) out = std::move(inspection.entry);
  });
  return found;
}

}  // namespace fulcrum::ledger
