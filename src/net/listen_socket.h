// Listening sockets, made on the control thread and handed to workers.
// Each worker gets its own socket per listener (SO_REUSEPORT), so the kernel
// spreads connections over workers without a shared accept lock. A listener
// on port 0 gets its port from the first socket and the others follow it.
#pragma once

#include <string>
#include <vector>

#include "core/socket_address.h"

namespace fulcrum::net {

// An owned listening socket; closes on destruction unless released.
class ListenSocket {
 public:
  ListenSocket() = default;
  explicit ListenSocket(int fd) : fd_(fd) {}
  ~ListenSocket();
  ListenSocket(ListenSocket&& other) noexcept : fd_(other.release()) {}
  ListenSocket& operator=(ListenSocket&& other) noexcept;

  int fd() const { return fd_; }
  // Another descriptor of the same socket (close-on-exec): a copy the
  // process holds so the socket, and its queue, outlive the one a worker
  // closes. Empty (fd() < 0) when the process is out of descriptors.
  ListenSocket duplicate() const;
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Whether the kernel hands a connection over only once its first bytes came
// (TCP_DEFER_ACCEPT, as nginx's `deferred` and HAProxy's `defer-accept`; a
// silent client is handed over after about a second and a retransmitted
// SYN-ACK). Set before the workers accept, so no connection slips through
// undeferred. False when the socket refused it.
bool deferAcceptUntilData(int fd, bool on);

// Binds `count` SO_REUSEPORT sockets on `address` and listens on each.
// On success `bound` is the address actually bound (the real port when the
// config said 0). On failure returns false with the reason; nothing leaks.
bool bindListenSockets(const SocketAddress& address, unsigned count, unsigned backlog,
                       std::vector<ListenSocket>& out, SocketAddress& bound, std::string& why);

}  // namespace fulcrum::net
