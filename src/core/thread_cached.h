// Blocks for objects made and destroyed at the rate of requests, kept by
// the thread that freed them for its next one (HAProxy's pools, nginx's
// per-connection pools). glibc's own per-thread cache serves blocks up to
// 1 KiB and holds seven of each size; an Exchange (about 1.2 KiB) went
// through the heap's large-block path at every request, sorting and
// coalescing free chunks under it.
//
// A class opts in by deriving from ThreadCached<Itself>: its operator new
// and delete come from here. At most kMostCached blocks wait per thread
// (the rest go back to malloc), so a burst leaves at most that much behind;
// a thread's blocks go back to malloc when it ends. A block freed on
// another thread than the one that made it joins that thread's cache:
// every block is plain malloc memory.
//
// Under AddressSanitizer the cache is off: a block reused at once would
// hide a use after free.
#pragma once

#include <cstddef>
#include <new>

#include "core/sanitizer.h"

namespace fulcrum::core {

template <typename T, size_t kMostCached = 64>
class ThreadCached {
 public:
  static constexpr bool kCaching = !kAddressSanitizer;
  // Blocks waiting in this thread's cache now.
  static size_t cachedHere() { return freeList().count; }

  static void* operator new(size_t size) {
    if (size != sizeof(T) || !kCaching) return ::operator new(size);
    FreeList& list = freeList();
    if (list.head == nullptr) return ::operator new(size);
    Block* block = list.head;
    list.head = block->next;
    --list.count;
    return block;
  }

  static void operator delete(void* memory, size_t size) {
    if (memory == nullptr) return;
    if (size != sizeof(T) || !kCaching || freeList().count >= kMostCached) {
      ::operator delete(memory);
      return;
    }
    FreeList& list = freeList();
    list.head = new (memory) Block{list.head};
    ++list.count;
  }

 protected:
  ThreadCached() = default;

 private:
  struct Block {
    Block* next;
  };
  struct FreeList {
    Block* head = nullptr;
    size_t count = 0;
    FreeList() = default;
    FreeList(const FreeList&) = delete;
    FreeList& operator=(const FreeList&) = delete;
    ~FreeList() {
      while (head != nullptr) {
        Block* block = head;
        head = block->next;
        ::operator delete(block);
      }
    }
  };

  static FreeList& freeList() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace fulcrum::core
