// Buffers of strings and vectors kept by the thread that let them go, for
// its next request. glibc's per-thread cache holds seven blocks of a size:
// with 64 requests in flight, the frees of each request's heap-backed
// strings and vectors overflowed it, and malloc's slow path (_int_malloc,
// _int_free) took 0.4 µs of a keyed request in a profile, about 2 % of its
// CPU. Used where the objects that hold them come and go with requests (a
// response head's fields, a ledger request's key and digests), never
// where a connection would keep one while it idles.
//
// Spares<C>::take() gives an empty C that has the buffer of one given back
// before, if any; give() keeps a C's buffer: at most kMost per thread and
// type, none over kLargestBytes (a large one would stay pinned for a small
// use), none that holds nothing beyond the object itself (a short
// std::string). A buffer given back on another thread joins that thread's
// spares: every buffer is plain allocator memory. Under AddressSanitizer
// nothing is kept, as in thread_cached.h: a buffer reused at once would
// hide a use after free.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "core/sanitizer.h"

namespace fulcrum::core {

template <typename Container, size_t kMost = 256, size_t kLargestBytes = 1024>
class Spares {
 public:
  static Container take() {
    std::vector<Container>& list = spares();
    if (list.empty()) return Container();
    Container kept = std::move(list.back());
    list.pop_back();
    return kept;
  }

  static void give(Container&& used) {
    if (kAddressSanitizer) return;
    const size_t capacity = used.capacity();
    if (capacity <= Container().capacity() ||
        capacity * sizeof(typename Container::value_type) > kLargestBytes)
      return;
    std::vector<Container>& list = spares();
    if (list.size() >= kMost) return;
    if (list.capacity() == 0) list.reserve(kMost);
    used.clear();
    list.push_back(std::move(used));
  }

  // Spares of this type waiting on this thread now.
  static size_t here() { return spares().size(); }

 private:
  static std::vector<Container>& spares() {
    thread_local std::vector<Container> list;
    return list;
  }
};

}  // namespace fulcrum::core
