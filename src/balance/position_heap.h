// An indexed binary min-heap over the positions 0..n-1 of one HostSet, each
// with a Key: the least-score strategies (least_conn, least_time) keep their
// servers in one so that a pick reads the root and a load change moves one
// entry, O(log n) either way. Keys must be totally ordered by operator< (the
// strategies end theirs with a unique pick stamp), so there are no ties and
// the heap's answer is the one a linear scan would give.
//
// Owned by one strategy instance, on its worker's thread; not thread-safe.
// No allocation after assign(): the walk's scratch space is reserved there.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace fulcrum::balance {

template <class Key>
class PositionHeap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Replaces the contents: position p gets keys[p]. O(n).
  void assign(std::vector<Key> keys) {
    keys_ = std::move(keys);
    const auto count = static_cast<uint32_t>(keys_.size());
    heap_.resize(count);
    slot_.resize(count);
    for (uint32_t p = 0; p < count; ++p) heap_[p] = slot_[p] = p;
    for (uint32_t slot = count / 2; slot-- > 0;) siftDown(slot);
    frontier_.clear();
    frontier_.reserve(count);
  }

  bool empty() const { return heap_.empty(); }
  const Key& key(uint32_t position) const { return keys_[position]; }

  // The position with the smallest key; the heap must not be empty.
  uint32_t top() const { return heap_.front(); }

  // Gives `position` a new key and restores the order. O(log n).
  void update(uint32_t position, const Key& key) {
    const bool smaller = key < keys_[position];
    keys_[position] = key;
    if (smaller) {
      siftUp(slot_[position]);
    } else {
      siftDown(slot_[position]);
    }
  }

  // The position with the smallest key among those `skip` rejects not, or
  // kNone. Best-first from the root: only a skipped node's children are
  // looked at, so for s skipped positions better than the answer this visits
  // at most 2s + 1 nodes, O(s log s), however large the heap.
  template <class Skip>
  uint32_t bestUnskipped(Skip skip) {
    if (heap_.empty()) return kNone;
    // A min-heap of heap slots ordered by their keys (std heaps are max-heaps).
    const auto later = [this](uint32_t a, uint32_t b) { return less(b, a); };
    frontier_.clear();
    frontier_.push_back(0);
    while (!frontier_.empty()) {
      std::pop_heap(frontier_.begin(), frontier_.end(), later);
      const uint32_t slot = frontier_.back();
      frontier_.pop_back();
      if (!skip(heap_[slot])) return heap_[slot];
      for (uint32_t child = 2 * slot + 1; child <= 2 * slot + 2 && child < heap_.size(); ++child) {
        frontier_.push_back(child);
        std::push_heap(frontier_.begin(), frontier_.end(), later);
      }
    }
    return kNone;
  }

 private:
  bool less(uint32_t slot_a, uint32_t slot_b) const {
    return keys_[heap_[slot_a]] < keys_[heap_[slot_b]];
  }

  void place(uint32_t slot, uint32_t position) {
    heap_[slot] = position;
    slot_[position] = slot;
  }

  void siftUp(uint32_t slot) {
    const uint32_t position = heap_[slot];
    while (slot > 0) {
      const uint32_t parent = (slot - 1) / 2;
      if (!(keys_[position] < keys_[heap_[parent]])) break;
      place(slot, heap_[parent]);
      slot = parent;
    }
    place(slot, position);
  }

  void siftDown(uint32_t slot) {
    const uint32_t position = heap_[slot];
    const auto count = static_cast<uint32_t>(heap_.size());
    while (true) {
      uint32_t child = 2 * slot + 1;
      if (child >= count) break;
      if (child + 1 < count && keys_[heap_[child + 1]] < keys_[heap_[child]]) ++child;
      if (!(keys_[heap_[child]] < keys_[position])) break;
      place(slot, heap_[child]);
      slot = child;
    }
    place(slot, position);
  }

  std::vector<Key> keys_;           // by position
  std::vector<uint32_t> heap_;      // heap slot -> position
  std::vector<uint32_t> slot_;      // position -> heap slot
  std::vector<uint32_t> frontier_;  // bestUnskipped's open slots; never more than n
};

}  // namespace fulcrum::balance
