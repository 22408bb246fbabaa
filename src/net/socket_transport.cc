#include "net/socket_transport.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace fulcrum::net {
namespace {

constexpr int kMaxChunks = 16;

bool transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

}  // namespace

SocketTransport::~SocketTransport() {
  if (fd_ >= 0) ::close(fd_);
}

int SocketTransport::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

IoResult SocketTransport::read(void* into, size_t size) {
  ssize_t n = ::recv(fd_, into, size, 0);
  if (n > 0) return IoResult::done(static_cast<size_t>(n));
  if (n == 0) return IoResult::eof();
  if (transient(errno)) return IoResult::wantRead();
  return IoResult::failed(errno);
}

IoResult SocketTransport::write(evbuffer* from) {
  // The cheapest call for what is there: send() for one chunk (most
  // answers, and every TCP read passed on), sendmsg() for several, up to
  // kMaxChunks at a time; the kernel path of writev is longer than
  // send's. MSG_NOSIGNAL: a closed peer is an EPIPE, never a signal.
  evbuffer_iovec chunks[kMaxChunks];
  const int count = std::min(evbuffer_peek(from, -1, nullptr, chunks, kMaxChunks), kMaxChunks);
  if (count <= 0) return IoResult::done(0);
  ssize_t written;
  if (count == 1) {
    written = ::send(fd_, chunks[0].iov_base, chunks[0].iov_len, MSG_NOSIGNAL);
  } else {
    iovec vector[kMaxChunks];
    for (int i = 0; i < count; ++i) vector[i] = iovec{chunks[i].iov_base, chunks[i].iov_len};
    msghdr message{};
    message.msg_iov = vector;
    message.msg_iovlen = static_cast<size_t>(count);
    written = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
  }
  if (written >= 0) {
    evbuffer_drain(from, static_cast<size_t>(written));
    return IoResult::done(static_cast<size_t>(written));
  }
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
