// The memory ledger's own pages (memory_store.h): the upstream of the
// store's pool, taking whole pages from the kernel with mmap instead of
// from malloc. Entries live for the ttl (a day by default) while the
// requests around them allocate and free buffers by the thousand a second;
// had the pool's chunks come from the worker's malloc arena, every chunk
// would pin the arena's top above the request buffers freed under it and
// leave malloc sorting a heap of holes on each request (measured: malloc's
// own share of a keyed request's CPU grew from 2 % to 12 %).
//
// Not thread-safe by itself: the store calls it under its lock. Blocks
// given out stay valid until deallocated or the resource is destroyed.
#pragma once

#include <cstddef>
#include <memory_resource>

namespace fulcrum::ledger {

class MappedMemory final : public std::pmr::memory_resource {
 public:
  MappedMemory() = default;
  MappedMemory(const MappedMemory&) = delete;
  MappedMemory& operator=(const MappedMemory&) = delete;

 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* block, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override;
};

}  // namespace fulcrum::ledger
