#include "net/listen_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fulcrum::net {
namespace {

int openOne(const SocketAddress& address, unsigned backlog, std::string& why) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
    why = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  // An IPv6 listener serves IPv6 only; IPv4 gets its own listener, as in
  // nginx, so "[::]:80" and "0.0.0.0:80" can both be configured.
  if (address.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    why = "bind " + address.toString() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (::listen(fd, static_cast<int>(backlog)) != 0) {
    why = "listen " + address.toString() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool deferAcceptUntilData(int fd, bool on) {
  // Seconds before a silent client is handed over anyway; 1, as nginx and
  // HAProxy set it.
  const int seconds = on ? 1 : 0;
  return setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds)) == 0;
}

ListenSocket::~ListenSocket() {
  if (fd_ >= 0) ::close(fd_);
}

ListenSocket& ListenSocket::operator=(ListenSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

ListenSocket ListenSocket::duplicate() const {
  return ListenSocket(::fcntl(fd_, F_DUPFD_CLOEXEC, 0));
}

bool bindListenSockets(const SocketAddress& address, unsigned count, unsigned backlog,
                       std::vector<ListenSocket>& out, SocketAddress& bound, std::string& why) {
  std::vector<ListenSocket> sockets;
  bound = address;
  for (unsigned i = 0; i < count; ++i) {
    int fd = openOne(bound, backlog, why);
    if (fd < 0) return false;
    sockets.emplace_back(fd);
    if (i == 0 && address.port() == 0) {
      sockaddr_storage actual{};
      socklen_t length = sizeof(actual);
      getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &length);
      bound = SocketAddress(reinterpret_cast<sockaddr*>(&actual), length);
    }
  }
  for (auto& socket : sockets) out.push_back(std::move(socket));
  return true;
}

}  // namespace fulcrum::net
