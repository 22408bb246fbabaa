// The memory ledger's index (memory_store.h): storage key -> slot, an
// open-addressed table of (64-bit hash, slot pointer) pairs with linear
// probing. In a ledger of a million entries every lookup is a cache miss
// wherever it lands; std::unordered_map paid one for the bucket, one per
// node of the bucket's chain and one for each key compared. Here a claim
// of a new key costs the one line its probe starts on (four pairs to a
// line, the table at most half full), and a found key one more, the slot's.
//
// Slots are the caller's: the index stores pointers and never frees them.
// Not thread-safe (the store's lock covers it), but for prefetchUnlocked().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace fulcrum::ledger {

template <typename Slot>
class SlotIndex {
 public:
  // `memory`: where the table lives (it is large: 32 bytes per entry).
  // `expected`: the entries it is sized for at once (at most half full),
  // so that it never grows below that many: growing rehashes every entry
  // in one go, a pause of tens of milliseconds at a million, under the
  // store's lock.
  explicit SlotIndex(std::pmr::memory_resource* memory, size_t expected = 0)
      : pairs_(sizeFor(expected), Pair{}, memory) {
    publishTable();
  }

  static uint64_t hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

  // The slot whose key is `key` (the slot's `key()` compared), or null.
  Slot* find(std::string_view key, uint64_t hash) const {
    for (size_t at = hash & mask();; at = (at + 1) & mask()) {
      const Pair& pair = pairs_[at];
      if (pair.slot == nullptr) return nullptr;
      if (pair.hash == hash && pair.slot->key() == key) return pair.slot;
    }
  }

  // Starts loading the line a lookup of `hash` begins on.
  void prefetch(uint64_t hash) const { __builtin_prefetch(&pairs_[hash & mask()], 1); }

  // The same, from any thread, without the lock: the table's place is read
  // from a copy kept for this. One that moved meanwhile (a grow) makes the
  // prefetch land on the old table, which costs nothing: a prefetch never
  // faults, and the lookup then misses as it would have.
  void prefetchUnlocked(uint64_t hash) const {
    const Pair* table = table_.load(std::memory_order_relaxed);
    const size_t mask = table_mask_.load(std::memory_order_relaxed);
    __builtin_prefetch(table + (hash & mask), 1);
  }

  // Adds `slot`, whose key is not in the index yet.
  void insert(uint64_t hash, Slot* slot) {
    if ((size_ + 1) * 2 > pairs_.size()) grow();
    place(Pair{hash, slot});
    ++size_;
  }

  // Removes `slot`, which is in the index under `hash`.
  void erase(uint64_t hash, const Slot* slot) {
    size_t hole = hash & mask();
    while (pairs_[hole].slot != slot) hole = (hole + 1) & mask();
    // Backward shift: a pair after the hole moves into it unless its own
    // home lies between the hole and it, so no probe meets a gap early.
    for (size_t next = (hole + 1) & mask(); pairs_[next].slot != nullptr;
         next = (next + 1) & mask()) {
      const size_t home = pairs_[next].hash & mask();
      if (((next - home) & mask()) >= ((next - hole) & mask())) {
        pairs_[hole] = pairs_[next];
        hole = next;
      }
    }
    pairs_[hole] = Pair{};
    --size_;
  }

  size_t size() const { return size_; }
  // Pairs in the table (a power of two).
  size_t capacity() const { return pairs_.size(); }

 private:
  struct Pair {
    uint64_t hash = 0;
    Slot* slot = nullptr;
  };
  static constexpr size_t kInitialSize = 1024;  // a power of two

  size_t mask() const { return pairs_.size() - 1; }

  static size_t sizeFor(size_t expected) {
    size_t size = kInitialSize;
    while (size / 2 < expected) size *= 2;
    return size;
  }

  void place(Pair pair) {
    size_t at = pair.hash & mask();
    while (pairs_[at].slot != nullptr) at = (at + 1) & mask();
    pairs_[at] = pair;
  }

  void grow() {
    std::pmr::vector<Pair> old(pairs_.size() * 2, Pair{}, pairs_.get_allocator());
    old.swap(pairs_);
    for (const Pair& pair : old)
      if (pair.slot != nullptr) place(pair);
    publishTable();
  }

  void publishTable() {
    table_.store(pairs_.data(), std::memory_order_relaxed);
    table_mask_.store(mask(), std::memory_order_relaxed);
  }

  std::pmr::vector<Pair> pairs_;
  size_t size_ = 0;
  // pairs_'s place, for prefetchUnlocked().
  std::atomic<const Pair*> table_{nullptr};
  std::atomic<size_t> table_mask_{0};
};

}  // namespace fulcrum::ledger
