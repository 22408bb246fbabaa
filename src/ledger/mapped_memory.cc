#include "ledger/mapped_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace fulcrum::ledger {
namespace {

size_t pageRounded(size_t bytes) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

// The pool asks for chunks that grow geometrically and for big blocks
// (the index) on their own, so a page granule wastes little.
//
// Pages are faulted in with the mapping, in one call: a store that grows
// by an answer per request would otherwise take a page fault every ten
// requests or so, each a trip through the kernel's exception path (5 % of
// a keyed request's CPU in a profile). Mappings of 2 MiB and more ask for
// huge pages first: lookups land anywhere in the index and the slots, and
// with 4 KiB pages nearly every one also missed the TLB.
void* MappedMemory::do_allocate(size_t bytes, size_t alignment) {
  if (alignment > pageRounded(1)) throw std::bad_alloc();
  const size_t length = pageRounded(bytes == 0 ? 1 : bytes);
  constexpr size_t kHugePage = 2 * 1024 * 1024;
  const bool huge = length >= kHugePage;
  void* block = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | (huge ? 0 : MAP_POPULATE), -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  // Both are hints: where the kernel declines, pages come one by one.
  if (huge) {
    madvise(block, length, MADV_HUGEPAGE);
    madvise(block, length, MADV_POPULATE_WRITE);
  }
  return block;
}

void MappedMemory::do_deallocate(void* block, size_t bytes, size_t) {
  munmap(block, pageRounded(bytes == 0 ? 1 : bytes));
}

bool MappedMemory::do_is_equal(const std::pmr::memory_resource& other) const noexcept {
  return this == &other;
}

}  // namespace fulcrum::ledger
