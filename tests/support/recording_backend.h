// A fake HTTP/1.1 backend for the retry tests: it records every request it
// received completely (read to the end of its body) and misbehaves on
// demand. "Received" is the thing the money-safety rule is about: a request
// the backend closed on before reading it is not recorded, one it read and
// then dropped is.
//
// Listens on 127.0.0.1 (a kernel-chosen port, kept for its whole life).
// One acceptor thread, one thread per connection (at most kMaxConnections at
// once; past that the kernel's backlog holds new ones). Every wait is
// bounded, and the destructor wakes and joins every thread.
// The behaviour can be switched from any thread at any time; it is read
// when a connection is accepted (Refuse) and when each
// request's first bytes arrive (everything else), so a request already
// being read finishes under the behaviour it started with.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/net.h"

namespace fulcrum::test {

enum class Behaviour {
  // 200 with `X-Backend: NAME`, `X-Body-Hash: HEX` and body "NAME HEX\n";
  // the connection is kept alive.
  Answer,
  // As if the process were gone: the listening socket is closed (the port
  // stays bound, not listening, so connects are refused and nobody else
  // takes it), idle kept-alive connections are closed, and a request that
  // arrives on one is closed on unread (not recorded). A request already
  // being answered finishes first. Switching back listens on the same port.
  Refuse,
  // Accepts, and as soon as a request's first bytes arrive resets the
  // connection (SO_LINGER 0) without reading them: not recorded. It waits
  // for those bytes because a reset that reached the proxy before it wrote
  // anything would be, rightly, a connect failure (nothing sent).
  ResetBeforeRead,
  // Reads the whole request, records it, then resets the connection.
  ReadThenReset,
  // Reads and records, then never answers: waits until the peer closes,
  // the backend is destroyed or `stall_limit` passes, then closes.
  ReadThenStall,
  // Reads and records, answers 503 (with X-Backend), keeps the connection.
  Answer503,
  // Answers like Answer, but on a connection that already served a request
  // it closes the connection as soon as the next request's first bytes
  // arrive, without reading or answering it: that request is not recorded
  // (the server never processed it). The keep-alive race, made certain.
  ClosePooledOnNextRequest,
  // Answers like Answer until a request arrives on a connection that
  // already served one; then it goes down as a killed process would: it
  // stops listening (it becomes Refuse) and closes that connection unread.
  // The keep-alive race on a server that is gone, made certain.
  DieOnPooledRequest,
};

const char* behaviourName(Behaviour behaviour);

// FNV-1a, 64 bits: what "X-Body-Hash" and ReceivedRequest::body_hash hold.
uint64_t bodyHash(const std::string& body);
std::string hexHash(uint64_t hash);

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::optional<std::string> idempotency_key;  // the Idempotency-Key field, if sent
  std::optional<std::string> request_id;       // X-Request-Id, if sent
  uint64_t body_hash = 0;
  size_t body_size = 0;
  int connection = 0;                        // which accepted connection (1, 2, ...)
  int index_on_connection = 0;               // 0 = the first request on its connection
  Behaviour behaviour = Behaviour::Answer;   // what the backend did with it
  std::chrono::steady_clock::time_point at;  // when it had been read
};

class RecordingBackend {
 public:
  static constexpr int kMaxConnections = 256;

  explicit RecordingBackend(std::string name, Behaviour behaviour = Behaviour::Answer,
                            std::chrono::milliseconds stall_limit = std::chrono::seconds(5));
  ~RecordingBackend();
  RecordingBackend(const RecordingBackend&) = delete;
  RecordingBackend& operator=(const RecordingBackend&) = delete;

  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }

  // Switches the behaviour. Returns once it is in force: for Refuse, the
  // listening socket is closed; from Refuse, it listens again (false if the
  // port could not be listened on again within a few seconds).
  bool setBehaviour(Behaviour behaviour);
  Behaviour behaviour() const { return behaviour_.load(); }

  // What SIGKILL does to a server process, where Refuse is a process that
  // went away cleanly: it stops listening (the behaviour becomes Refuse)
  // and every open connection ends at once, whatever it was doing: idle,
  // reading a request (not recorded), holding one (ReadThenStall) or about
  // to answer one (the answer is not sent). A request already read stays
  // recorded: the server had it. Each connection is shut down both ways
  // (the proxy sees a FIN, as the kernel sends for a killed process's
  // socket with nothing unread). An answer is one send() of a few hundred
  // bytes, so it is never cut in half: it left whole before the kill, or
  // not at all. setBehaviour(Answer) is the restart.
  bool kill();

  // Every request received completely, in the order they were read.
  std::vector<ReceivedRequest> requests() const;
  int count(const std::string& method, const std::string& path) const;
  // Received requests for `path`, any method.
  int count(const std::string& path) const;
  int total() const;
  // Connections accepted so far.
  int connections() const { return accepted_.load(); }

 private:
  struct Connection {
    int fd = -1;  // closed (and set to -1) under mutex_
    int serial = 0;
    bool idle = false;  // waiting for a request's first bytes; under mutex_
    std::atomic<bool> done{false};
    std::thread thread;
  };

  void acceptLoop();
  // Brings the listening socket in line with behaviour_ (acceptor thread).
  void applyListening();
  void serve(Connection& connection);
  bool waitReadable(int fd, std::chrono::steady_clock::time_point until) const;
  void setIdle(Connection& connection, bool idle);
  void closeConnection(Connection& connection, bool reset);
  void reapFinished();
  void record(ReceivedRequest request);

  std::string name_;
  std::chrono::milliseconds stall_limit_;
  std::atomic<Behaviour> behaviour_;
  uint16_t port_ = 0;
  Fd listener_;  // acceptor thread only (and the constructor)
  bool listening_ = false;
  int wake_[2] = {-1, -1};  // to the acceptor: behaviour changed, or stop
  int stop_[2] = {-1, -1};  // closed write end = every thread stops waiting
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};

  mutable std::mutex mutex_;
  std::condition_variable applied_;
  uint64_t requested_generation_ = 0;                   // under mutex_
  uint64_t applied_generation_ = 0;                     // under mutex_
  bool listen_failed_ = false;                          // under mutex_
  std::list<std::unique_ptr<Connection>> connections_;  // under mutex_
  std::vector<ReceivedRequest> received_;               // under mutex_
  std::thread acceptor_;
};

}  // namespace fulcrum::test
