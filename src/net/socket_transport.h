// The plain TCP (or Unix) socket transport: recv, evbuffer_write (writev)
// and shutdown on a connected, non-blocking descriptor it owns.
#pragma once

#include <memory>

#include "net/transport.h"

namespace fulcrum::net {

class SocketTransport final : public Transport {
 public:
  // Takes ownership of the connected, non-blocking `fd`.
  explicit SocketTransport(int fd) : fd_(fd) {}
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  int fd() const override { return fd_; }
  IoResult handshake() override { return IoResult::done(0); }
  IoResult read(void* into, size_t size) override;
  IoResult write(evbuffer* from) override;
  void shutdownWrite() override;
  // Gives the descriptor up: the transport no longer closes it.
  int release();

 private:
  int fd_;
};

std::unique_ptr<Transport> socketTransport(int fd);

}  // namespace fulcrum::net
