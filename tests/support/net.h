// Loopback sockets for integration tests: listeners on port 0, blocking I/O
// bounded by deadlines (poll), and a fake TCP backend that runs a handler
// per connection on its own thread. Only loopback addresses are used.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"

namespace fulcrum::test {

// Closes the fd on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// A listening socket on 127.0.0.1 with a kernel-chosen port.
Fd listenLoopback(uint16_t& port, int backlog = 128);
// A listening socket on another loopback address (127.0.0.2, ...), on
// `port` (0: the kernel's choice, written back).
Fd listenOn(const std::string& ipv4, uint16_t& port, int backlog = 128);
// The next connection accepted on `listener`, or -1 once `wake` (the read
// end of a pipe a destructor writes to) is readable: the loop of a fake
// server's accepting thread.
int acceptUntilWoken(int listener, int wake);
// A port that refuses connections: bound on 127.0.0.1, never listening.
Fd refusingPort(uint16_t& port);
// A free port on 127.0.0.1: bound by the kernel, then released, for a peer
// that cannot be told to listen on port 0 (nginx, HAProxy).
uint16_t freeLoopbackPort();
// Waits (bounded) until `process` accepts connections on 127.0.0.1:port;
// false if it exited or the deadline passed first.
bool waitAccepting(ChildProcess& process, uint16_t port);
// Connects to 127.0.0.1:port; an invalid Fd on failure.
Fd connectLoopback(uint16_t port, std::chrono::milliseconds deadline = kDeadline);

bool writeAll(int fd, const void* data, size_t length,
              std::chrono::milliseconds deadline = kDeadline);
bool writeAll(int fd, const std::string& data, std::chrono::milliseconds deadline = kDeadline);
// Reads until EOF (true) or error/deadline (false), appending to `out`.
bool readToEof(int fd, std::string& out, std::chrono::milliseconds deadline = kDeadline);
// Reads exactly `length` bytes.
bool readExactly(int fd, std::string& out, size_t length,
                 std::chrono::milliseconds deadline = kDeadline);
// Reads up to and including the first CRLF CRLF, byte by byte so nothing
// after the head is consumed; empty on failure.
std::string readHeadBytes(int fd, std::chrono::milliseconds deadline = kDeadline);
// True when the peer closed (EOF or reset) before the deadline, reading nothing.
bool closedByPeer(int fd, std::chrono::milliseconds deadline = kDeadline);
// Reads and drops what the peer sends until it closes (EOF or reset):
// how many bytes came first, or nullopt at the deadline.
std::optional<size_t> bytesBeforeClose(int fd, std::chrono::steady_clock::time_point until);
// Without waiting or reading: false when the peer has closed (EOF or reset).
bool stillOpen(int fd);

// Deterministic pseudo-random bytes for payloads.
std::string patternBytes(size_t length, uint64_t seed);

class TcpBackend {
 public:
  // Runs on its own thread for each accepted connection; the fd is closed
  // when it returns. Handlers must end by themselves (use deadlines).
  using Handler = std::function<void(int fd)>;

  explicit TcpBackend(Handler handler, int backlog = 128);
  // Listening on `ipv4` (a 127.x.y.z address) and `port` (0: any).
  TcpBackend(Handler handler, const std::string& ipv4, uint16_t port);
  ~TcpBackend();
  TcpBackend(const TcpBackend&) = delete;
  TcpBackend& operator=(const TcpBackend&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void acceptLoop();

  Handler handler_;
  uint16_t port_ = 0;
  Fd listener_;
  int wake_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
};

// Handler: sends `name` followed by a newline, then reads to EOF.
TcpBackend::Handler sayName(const std::string& name);

}  // namespace fulcrum::test
