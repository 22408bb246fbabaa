#include "ledger/memory_store.h"

#include <iterator>
#include <utility>

namespace fulcrum::ledger {
namespace {

// What a slot costs beyond its strings: the map node, the LRU node and
// the slot itself, roughly.
constexpr size_t kSlotOverhead = 192;

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
    : limits_(limits), now_(now ? std::move(now) : Now([] { return Clock::now(); })) {}

size_t MemoryStore::costOf(const std::string& key, const Entry& entry) {
  return kSlotOverhead + 2 * key.size() + entry.fingerprint.size() + entry.answer.size();
}

void MemoryStore::erase(Map::iterator it) {
  if (it->second.in_lru) lru_.erase(it->second.lru);
  memory_ -= it->second.cost;
  slots_.erase(it);
}

void MemoryStore::touch(Slot& slot) {
  if (slot.in_lru) lru_.splice(lru_.begin(), lru_, slot.lru);
}

bool MemoryStore::makeRoom(size_t cost, Clock::time_point now, bool new_slot) {
  auto over = [&] {
    return slots_.size() + (new_slot ? 1 : 0) > limits_.max_entries ||
           memory_ + cost > limits_.max_memory;
  };
  // Expired entries near the cold end go first, then the least recently
  // used. The look for expired ones is short: a full store must not cost a
  // walk of a million entries per claim.
  auto it = lru_.end();
  for (int looked = 0; over() && it != lru_.begin() && looked < 16; ++looked) {
    auto previous = std::prev(it);
    auto slot = slots_.find(*previous);
    if (slot->second.expires <= now)
      erase(slot);  // `it` stays valid
    else
      it = previous;
  }
  while (over() && !lru_.empty()) erase(slots_.find(lru_.back()));
  return !over();
}

void MemoryStore::claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
                        std::chrono::milliseconds in_flight_timeout, ClaimDone done) {
  ClaimResult result;
  {
    std::lock_guard lock(mutex_);
    const Clock::time_point now = now_();
    auto found = slots_.find(key);
    // An expired entry, or a claim whose holder has been gone too long,
    // counts as no entry.
    if (found != slots_.end() && found->second.expires <= now) {
      erase(found);
      found = slots_.end();
    }
    if (found != slots_.end()) {
      touch(found->second);
      result.status = ClaimStatus::Exists;
      result.entry = found->second.entry;
    } else {
      Entry entry;
      entry.state = EntryState::InFlight;
      entry.fingerprint = fingerprint;
      entry.claim = claim;
      const size_t cost = costOf(key, entry);
      if (makeRoom(cost, now, /*new_slot=*/true)) {
        Slot& slot = slots_[key];
        slot.entry = std::move(entry);
        slot.expires = now + in_flight_timeout;
        slot.cost = cost;
        memory_ += cost;
        result.status = ClaimStatus::Claimed;
      } else {
        result.status = ClaimStatus::StoreError;
        result.error = "the memory ledger is full of requests in flight";
      }
    }
  }
  done(std::move(result));
}

void MemoryStore::settle(const std::string& key, Entry entry, std::chrono::milliseconds ttl,
                         StoreTimings* timings) {
  const TimedCall timed(timings, StoreOperation::Settle);
  std::lock_guard lock(mutex_);
  auto found = slots_.find(key);
  if (found == slots_.end() || found->second.entry.claim != entry.claim ||
      found->second.entry.state != EntryState::InFlight)
    return;
  const Clock::time_point now = now_();
  const size_t cost = costOf(key, entry);
  // The claim's own cost is given back before room is made for the answer.
  memory_ -= found->second.cost;
  found->second.cost = 0;
  if (!makeRoom(cost, now, /*new_slot=*/false)) {
    // Too large for the whole store: kept as answered, without the answer.
    entry.state = EntryState::NotKept;
    entry.answer = Answer{};
  }
  found = slots_.find(key);  // makeRoom never pushes out in-flight slots, but be exact
  if (found == slots_.end()) return;
  Slot& slot = found->second;
  slot.cost = costOf(key, entry);
  memory_ += slot.cost;
  slot.entry = std::move(entry);
  slot.expires = now + ttl;
  lru_.push_front(key);
  slot.lru = lru_.begin();
  slot.in_lru = true;
}

void MemoryStore::release(const std::string& key, uint64_t claim, StoreTimings* timings) {
  const TimedCall timed(timings, StoreOperation::Release);
  std::lock_guard lock(mutex_);
  auto found = slots_.find(key);
  if (found != slots_.end() && found->second.entry.claim == claim &&
      found->second.entry.state == EntryState::InFlight)
    erase(found);
}

void MemoryStore::inspect(const std::string& key, bool release, InspectDone done) {
  Inspection inspection;
  {
    std::lock_guard lock(mutex_);
    auto found = slots_.find(key);
    if (found == slots_.end() || found->second.expires <= now_()) {
      inspection.result = Inspection::Result::NotFound;
    } else {
      inspection.result = Inspection::Result::Found;
      inspection.entry = found->second.entry;
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

bool MemoryStore::peek(const std::string& key, Entry& out) const {
  std::lock_guard lock(mutex_);
  auto found = slots_.find(key);
  if (found == slots_.end() || found->second.expires <= now_()) return false;
  out = found->second.entry;
  return true;
}

}  // namespace fulcrum::ledger
