// An owning handle for a libevent evbuffer: freed when the handle goes,
// so no member or early return has to remember evbuffer_free.
#pragma once

#include <event2/buffer.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "core/sanitizer.h"

namespace fulcrum::net {

struct BufferFree {
  void operator()(evbuffer* buffer) const { evbuffer_free(buffer); }
};

using Buffer = std::unique_ptr<evbuffer, BufferFree>;

inline Buffer newBuffer() {
  return Buffer(evbuffer_new());
}

// A buffer made and freed at the rate of requests (a request's rewritten
// head, the bytes an exchange holds before it connects, the copy kept for
// a retry): an empty one goes back to a per-thread cache when its handle
// goes, and the next request's takes it from there. evbuffer_new and
// evbuffer_free were four mallocs and frees a request, 7 % of a proxied
// request's instructions.
//
// Only for buffers that bytes are added to and moved through: never
// evbuffer_reserve_space() or evbuffer_expand() on one (a Stream's input
// is a plain Buffer). Those leave an empty chain of room that no drain
// frees, so an "empty" buffer could keep kilobytes in the cache. One that
// still holds bytes is drained first, which frees all its chains. (An
// empty chain of room can still come along with bytes moved in from a
// Stream's input and stay when they move on; at most kMostRecycledBuffers
// wait per thread, so a thread keeps at most that many such chains.) A
// thread's buffers go when it ends. Under AddressSanitizer the cache is
// off, as ThreadCached's is.
inline constexpr size_t kMostRecycledBuffers = 32;
inline constexpr bool kRecyclingBuffers = !core::kAddressSanitizer;

struct RecycledBufferFree {
  void operator()(evbuffer* buffer) const;
};

using RecycledBuffer = std::unique_ptr<evbuffer, RecycledBufferFree>;

RecycledBuffer newRecycledBuffer();
// Buffers waiting in this thread's cache now.
size_t recycledBuffersHere();

// Calls `each(std::string_view)` for the bytes of `buffer` from `offset` to
// its end, in the buffer's own pieces (no copy). The pieces are listed on
// the stack when there are few, as there almost always are: this runs for
// every request whose body a hook reads.
template <typename Each>
void forEachSpan(evbuffer* buffer, size_t offset, Each&& each) {
  const size_t length = evbuffer_get_length(buffer);
  if (length <= offset) return;
  evbuffer_ptr start;
  evbuffer_ptr_set(buffer, &start, offset, EVBUFFER_PTR_SET);
  const auto wanted = static_cast<ev_ssize_t>(length - offset);
  constexpr int kOnStack = 8;
  evbuffer_iovec on_stack[kOnStack];
  std::vector<evbuffer_iovec> on_heap;
  evbuffer_iovec* spans = on_stack;
  int pieces = evbuffer_peek(buffer, wanted, &start, spans, kOnStack);
  if (pieces > kOnStack) {
    on_heap.resize(static_cast<size_t>(pieces));
    spans = on_heap.data();
    pieces = evbuffer_peek(buffer, wanted, &start, spans, pieces);
  }
  size_t left = length - offset;
  for (int i = 0; i < pieces && left > 0; ++i) {
    const size_t take = std::min(left, spans[i].iov_len);
    each(std::string_view(static_cast<const char*>(spans[i].iov_base), take));
    left -= take;
  }
}

}  // namespace fulcrum::net
