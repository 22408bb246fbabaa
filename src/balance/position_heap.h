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
#include <vector>

namespace fulcrum::balance {

template <class Key>
class PositionHeap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Replaces the contents: position p gets keys[p]. O(n).
  void assign(const std::vector<Key>& keys) {
    const auto count = static_cast<uint32_t>(keys.size());
    heap_.resize(count);
    slot_.resize(count);
    for (uint32_t p = 0; p < count; ++p) {
      heap_[p] = Node{keys[p], p};
      slot_[p] = p;
    }
    for (uint32_t slot = count / 2; slot-- > 0;) siftDown(slot);
    frontier_.clear();
    frontier_.reserve(count);
  }

  bool empty() const { return heap_.empty(); }
  const Key& key(uint32_t position) const { return heap_[slot_[position]].key; }

  // The position with the smallest key; the heap must not be empty.
  uint32_t top() const { return heap_.front().position; }

  // Gives `position` a new key and restores the order. O(log n).
  void update(uint32_t position, const Key& key) {
    const uint32_t slot = slot_[position];
    const bool smaller = key < heap_[slot].key;
    heap_[slot].key = key;
    if (smaller) {
      siftUp(slot);
    } else {
      siftDown(slot);
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
    const auto later = [this](uint32_t a, uint32_t b) { return heap_[b].key < heap_[a].key; };
    frontier_.clear();
    frontier_.push_back(0);
    while (!frontier_.empty()) {
      std::pop_heap(frontier_.begin(), frontier_.end(), later);
      const uint32_t slot = frontier_.back();
      frontier_.pop_back();
      if (!skip(heap_[slot].position)) return heap_[slot].position;
      for (uint32_t child = 2 * slot + 1; child <= 2 * slot + 2 && child < heap_.size(); ++child) {
        frontier_.push_back(child);
        std::push_heap(frontier_.begin(), frontier_.end(), later);
      }
    }
    return kNone;
  }

 private:
  // Keys live in heap order, beside their positions, so a sift compares
  // neighbours in one array instead of chasing positions.
  struct Node {
    Key key;
    uint32_t position;
  };

  void siftUp(uint32_t slot) {
    Node node = heap_[slot];
    while (slot > 0) {
      const uint32_t parent = (slot - 1) / 2;
      if (!(node.key < heap_[parent].key)) break;
      move(slot, parent);
      slot = parent;
    }
    put(slot, node);
  }

  void siftDown(uint32_t slot) {
    Node node = heap_[slot];
    const auto count = static_cast<uint32_t>(heap_.size());
    while (true) {
      uint32_t child = 2 * slot + 1;
      if (child >= count) break;
      if (child + 1 < count && heap_[child + 1].key < heap_[child].key) ++child;
      if (!(heap_[child].key < node.key)) break;
      move(slot, child);
      slot = child;
    }
    put(slot, node);
  }

  void move(uint32_t to, uint32_t from) { put(to, heap_[from]); }
  void put(uint32_t slot, const Node& node) {
    heap_[slot] = node;
    slot_[node.position] = slot;
  }

  std::vector<Node> heap_;          // in heap order
  std::vector<uint32_t> slot_;      // position -> heap slot
  std::vector<uint32_t> frontier_;  // bestUnskipped's open slots; never more than n
};

}  // namespace fulcrum::balance
