#include "support/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace fulcrum::test {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

uint16_t boundPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

int remainingMs(std::chrono::steady_clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

bool waitFor(int fd, short events, std::chrono::steady_clock::time_point until) {
  pollfd entry{fd, events, 0};
  int rc;
  do {
    rc = poll(&entry, 1, remainingMs(until));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd listenLoopback(uint16_t& port, int backlog) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(0);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd.get(), backlog) != 0)
    return Fd();
  port = boundPort(fd.get());
  return fd;
}

Fd listenOn(const std::string& ipv4, uint16_t& port, int backlog) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(port);
  if (inet_pton(AF_INET, ipv4.c_str(), &address.sin_addr) != 1) return Fd();
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd.get(), backlog) != 0)
    return Fd();
  port = boundPort(fd.get());
  return fd;
}

Fd refusingPort(uint16_t& port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(0);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return Fd();
  port = boundPort(fd.get());
  return fd;
}

uint16_t freeLoopbackPort() {
  uint16_t port = 0;
  Fd probe = listenLoopback(port);
  return port;
}

bool waitAccepting(ChildProcess& process, uint16_t port) {
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < until && process.running()) {
    if (connectLoopback(port, 1s)) return true;
    process.waitForText("\x01", 20ms);  // a bounded pause while it binds
  }
  return false;
}

Fd connectLoopback(uint16_t port, std::chrono::milliseconds deadline) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in address = loopback(port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) return Fd();
    if (!waitFor(fd.get(), POLLOUT, std::chrono::steady_clock::now() + deadline)) return Fd();
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return Fd();
  }
  // Back to blocking; every read and write below is bounded by poll.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

bool writeAll(int fd, const void* data, size_t length, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  const char* cursor = static_cast<const char*>(data);
  while (length > 0) {
    if (!waitFor(fd, POLLOUT, until)) return false;
    ssize_t n = send(fd, cursor, length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    cursor += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

bool writeAll(int fd, const std::string& data, std::chrono::milliseconds deadline) {
  return writeAll(fd, data.data(), data.size(), deadline);
}

bool readToEof(int fd, std::string& out, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  char buffer[65536];
  for (;;) {
    if (!waitFor(fd, POLLIN, until)) return false;
    ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<size_t>(n));
  }
}

bool readExactly(int fd, std::string& out, size_t length, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  char buffer[65536];
  while (length > 0) {
    if (!waitFor(fd, POLLIN, until)) return false;
    ssize_t n = recv(fd, buffer, std::min(length, sizeof(buffer)), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    out.append(buffer, static_cast<size_t>(n));
    length -= static_cast<size_t>(n);
  }
  return true;
}

std::string readHeadBytes(int fd, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  std::string head;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readExactly(fd, head, 1, left)) return std::string();
  }
  return head;
}

bool closedByPeer(int fd, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (!waitFor(fd, POLLIN, until)) return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
}

std::optional<size_t> bytesBeforeClose(int fd, std::chrono::steady_clock::time_point until) {
  char buffer[65536];
  size_t total = 0;
  for (;;) {
    if (!waitFor(fd, POLLIN, until)) return std::nullopt;
    ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return total;
    if (n < 0) return std::nullopt;
    total += static_cast<size_t>(n);
  }
}

bool stillOpen(int fd) {
  pollfd entry{fd, POLLRDHUP, 0};
  return poll(&entry, 1, 0) == 0;  // POLLHUP and POLLERR come unasked
}

std::string patternBytes(size_t length, uint64_t seed) {
  std::string out(length, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

TcpBackend::TcpBackend(Handler handler, int backlog) : handler_(std::move(handler)) {
  listener_ = listenLoopback(port_, backlog);
  if (pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpBackend::TcpBackend(Handler handler, const std::string& ipv4, uint16_t port)
    : handler_(std::move(handler)), port_(port) {
  listener_ = listenOn(ipv4, port_);
  if (!listener_) throw std::runtime_error("cannot listen on " + ipv4);
  if (pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpBackend::~TcpBackend() {
  char stop = 1;
  ssize_t ignored = write(wake_[1], &stop, 1);
  (void)ignored;
  acceptor_.join();
  for (auto& connection : connections_) connection.join();
  close(wake_[0]);
  close(wake_[1]);
}

int acceptUntilWoken(int listener, int wake) {
  for (;;) {
    pollfd entries[2] = {{listener, POLLIN, 0}, {wake, POLLIN, 0}};
    if (poll(entries, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (entries[1].revents != 0) return -1;
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return fd;
  }
}

void TcpBackend::acceptLoop() {
  for (int fd; (fd = acceptUntilWoken(listener_.get(), wake_[0])) >= 0;) {
    accepted_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    connections_.emplace_back([this, fd] {
      Fd connection(fd);
      handler_(connection.get());
    });
  }
}

TcpBackend::Handler sayName(const std::string& name) {
  return [name](int fd) {
    writeAll(fd, name + "\n");
    std::string ignored;
    readToEof(fd, ignored);
  };
}

}  // namespace fulcrum::test
