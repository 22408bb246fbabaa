#include "net/buffer.h"

namespace fulcrum::net {
namespace {

// Empty buffers, no chain in any (buffer.h), freed with the thread.
struct SpareBuffers {
  std::vector<evbuffer*> buffers;
  SpareBuffers() { buffers.reserve(kMostRecycledBuffers); }
  SpareBuffers(const SpareBuffers&) = delete;
  SpareBuffers& operator=(const SpareBuffers&) = delete;
  ~SpareBuffers() {
    for (evbuffer* buffer : buffers) evbuffer_free(buffer);
  }
};

SpareBuffers& spares() {
  thread_local SpareBuffers here;
  return here;
}

}  // namespace

void RecycledBufferFree::operator()(evbuffer* buffer) const {
  if (buffer == nullptr) return;
  std::vector<evbuffer*>& buffers = spares().buffers;
  if (!kRecyclingBuffers || buffers.size() >= kMostRecycledBuffers) {
    evbuffer_free(buffer);
    return;
  }
  // Draining all of a buffer frees every chain it has (one left with
  // bytes, as a retry's copy is, included).
  evbuffer_drain(buffer, evbuffer_get_length(buffer));
  buffers.push_back(buffer);
}

RecycledBuffer newRecycledBuffer() {
  if (kRecyclingBuffers) {
    std::vector<evbuffer*>& buffers = spares().buffers;
    if (!buffers.empty()) {
      evbuffer* buffer = buffers.back();
      buffers.pop_back();
      return RecycledBuffer(buffer);
    }
  }
  return RecycledBuffer(evbuffer_new());
}

size_t recycledBuffersHere() {
  return spares().buffers.size();
}

}  // namespace fulcrum::net
