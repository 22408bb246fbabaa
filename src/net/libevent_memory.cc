#include "net/libevent_memory.h"

#include <event2/event.h>
#include <malloc.h>

#include <cstdlib>
#include <new>

namespace fulcrum::net {
namespace {

struct CachedBlock {
  CachedBlock* next;
};

// Plain data, so it is still there for a free that comes after the
// thread's cache was given back (a static's destructor at exit): `closed`
// then sends every block straight to free().
struct ChainBlockCache {
  CachedBlock* head;
  size_t count;
  bool closed;
};

thread_local ChainBlockCache cache{nullptr, 0, false};

// Gives the thread's blocks back to malloc when the thread ends; made at
// the thread's first cached block.
struct ChainBlockRelease {
  ChainBlockRelease() = default;
  ChainBlockRelease(const ChainBlockRelease&) = delete;
  ChainBlockRelease& operator=(const ChainBlockRelease&) = delete;
  ~ChainBlockRelease() {
    cache.closed = true;
    while (cache.head != nullptr) {
      CachedBlock* block = cache.head;
      cache.head = block->next;
      std::free(block);
    }
    cache.count = 0;
  }
};

// What malloc_usable_size() says of a block of kChainBlockBytes: only
// blocks of exactly that class are kept, so every one fits the next ask.
size_t chainBlockClass() {
  static const size_t usable = [] {
    void* probe = std::malloc(kChainBlockBytes);
    const size_t size = malloc_usable_size(probe);
    std::free(probe);
    return size;
  }();
  return usable;
}

void* allocate(size_t bytes) {
  if (kCachingChainBlocks && bytes == kChainBlockBytes && cache.head != nullptr) {
    CachedBlock* block = cache.head;
    cache.head = block->next;
    --cache.count;
    return block;
  }
  return std::malloc(bytes);
}

void release(void* memory) {
  if (memory == nullptr) return;
  if (kCachingChainBlocks && !cache.closed && cache.count < kMostCachedChainBlocks &&
      malloc_usable_size(memory) == chainBlockClass()) {
    thread_local ChainBlockRelease at_thread_end;
    (void)at_thread_end;
    cache.head = new (memory) CachedBlock{cache.head};
    ++cache.count;
    return;
  }
  std::free(memory);
}

}  // namespace

void useLibeventMemory() {
  chainBlockClass();
  event_set_mem_functions(&allocate, &std::realloc, &release);
}

size_t cachedChainBlocksHere() {
  return cache.count;
}

}  // namespace fulcrum::net
