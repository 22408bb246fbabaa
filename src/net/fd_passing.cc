#include "net/fd_passing.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fulcrum::net {
namespace {

bool unixAddress(const std::string& path, sockaddr_un& address, std::string& why) {
  address = sockaddr_un{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    why = "the socket path '" + path + "' is empty or too long";
    return false;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

std::string failed(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

}  // namespace

int listenUnixPacket(const std::string& path, std::string& why) {
  sockaddr_un address;
  if (!unixAddress(path, address, why)) return -1;
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = failed("socket", path);
    return -1;
  }
  ::unlink(path.c_str());
  // Only our own user may take the listening sockets over: the file is
  // created 0600, never readable by others even for a moment.
  const mode_t previous = ::umask(0177);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  ::umask(previous);
  if (bound != 0 || ::listen(fd, 4) != 0) {
    why = failed(bound != 0 ? "bind" : "listen", path);
    ::close(fd);
    return -1;
  }
  return fd;
}

int connectUnixPacket(const std::string& path, std::chrono::milliseconds timeout,
                      std::string& why) {
  sockaddr_un address;
  if (!unixAddress(path, address, why)) return -1;
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = failed("socket", path);
    return -1;
  }
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  limit.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    why = failed("connect", path);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool sendWithFds(int socket, const std::string& text, const std::vector<int>& fds,
                 std::string& why) {
  if (fds.size() > kMaxFdsPerMessage || text.size() > kMaxFdMessageText || text.empty()) {
    why = "a message of " + std::to_string(fds.size()) + " descriptor(s) and " +
          std::to_string(text.size()) + " byte(s) is out of bounds";
    return false;
  }
  iovec part{const_cast<char*>(text.data()), text.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage));
  if (!fds.empty()) {
    message.msg_control = control.data();
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(text.size())) {
    why = std::string("send: ") + (sent < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  return true;
}

bool receiveWithFds(int socket, std::string& text, std::vector<int>& fds, std::string& why) {
  std::vector<char> buffer(kMaxFdMessageText);
  iovec part{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage));
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  ssize_t received;
  do {
    received = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    why = errno == EAGAIN ? "timed out" : std::string("receive: ") + std::strerror(errno);
    return false;
  }
  // Descriptors are taken before any check, so none leaks on an error.
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  if (received == 0) {
    why = "closed by the peer";
    return false;
  }
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    why = "a message was truncated";
    return false;
  }
  text.assign(buffer.data(), static_cast<size_t>(received));
  return true;
}

}  // namespace fulcrum::net
