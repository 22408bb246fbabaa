// An owning handle for a libevent evbuffer: freed when the handle goes,
// so no member or early return has to remember evbuffer_free.
#pragma once

#include <event2/buffer.h>

#include <memory>

namespace fulcrum::net {

struct BufferFree {
  void operator()(evbuffer* buffer) const { evbuffer_free(buffer); }
};

using Buffer = std::unique_ptr<evbuffer, BufferFree>;

inline Buffer newBuffer() {
  return Buffer(evbuffer_new());
}

}  // namespace fulcrum::net
