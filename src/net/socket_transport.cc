#include "net/socket_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace fulcrum::net {
namespace {

bool transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

}  // namespace

SocketTransport::~SocketTransport() {
  ::close(fd_);
}

IoResult SocketTransport::read(void* into, size_t size) {
  ssize_t n = ::recv(fd_, into, size, 0);
  if (n > 0) return IoResult::done(static_cast<size_t>(n));
  if (n == 0) return IoResult::eof();
  if (transient(errno)) return IoResult::wantRead();
  return IoResult::failed(errno);
}

IoResult SocketTransport::write(evbuffer* from) {
  int written = evbuffer_write(from, fd_);
  if (written >= 0) return IoResult::done(static_cast<size_t>(written));
  if (transient(errno)) return IoResult::wantWrite();
  return IoResult::failed(errno);
}

void SocketTransport::shutdownWrite() {
  ::shutdown(fd_, SHUT_WR);
}

std::unique_ptr<Transport> socketTransport(int fd) {
  return std::make_unique<SocketTransport>(fd);
}

}  // namespace fulcrum::net
