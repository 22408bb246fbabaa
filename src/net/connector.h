// One non-blocking connect with a deadline, on an EventLoop, that ends in a
// Stream: the TCP connect, then the transport's handshake (none for a plain
// socket; TLS next), both within the one deadline. A failure is typed, so
// health checks, outlier detection, metrics and logs read what happened
// without parsing text; `detail` is for people only.
//
// Destroying the Connector cancels a pending connect (and closes its
// socket). The callback always runs from the loop, never inside connect(),
// and may start a new connect on the same Connector; it must not destroy
// the Connector.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/socket_address.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "net/transport.h"

namespace fulcrum::net {

enum class ConnectFailure : uint8_t {
  None,
  Refused,        // ECONNREFUSED: nothing listens there
  Timeout,        // the deadline passed (or the kernel gave up: ETIMEDOUT)
  Unreachable,    // no route to the host or its network
  LocalResource,  // fulcrum's own limit: descriptors, ports, buffers, memory
  Handshake,      // connected, but the transport's handshake failed
  Failed,         // any other error of the connect
};

// "refused", "timeout", ...: a stable word for logs and labels.
const char* connectFailureName(ConnectFailure failure);

struct ConnectResult {
  std::unique_ptr<Stream> stream;  // on success
  ConnectFailure failure = ConnectFailure::None;
  int error_number = 0;  // the errno behind a failure, when there is one
  std::string detail;    // why it failed, for people ("Connection refused")
  bool ok() const { return stream != nullptr; }
  // Not the server's fault (core/local_errors.h): callers must not count
  // it against the server.
  bool local() const { return failure == ConnectFailure::LocalResource; }
};

class Connector {
 public:
  using Callback = std::function<void(ConnectResult result)>;

  explicit Connector(EventLoop& loop) : loop_(loop) {}
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Starts a connect; a connect already pending is cancelled first.
  // `transport` (null = the plain socket) wraps the connected socket.
  void connect(const SocketAddress& address, std::chrono::milliseconds timeout, Callback callback,
               TransportFactory transport = nullptr);
  void cancel();

 private:
  static void onEvent(evutil_socket_t fd, short what, void* self);
  void connected();
  void shake();
  void wait(short what);
  void finish(ConnectResult result);
  void failWith(int error);

  EventLoop& loop_;
  event* event_ = nullptr;
  int fd_ = -1;
  std::unique_ptr<Transport> transport_;  // after the TCP connect, in its handshake
  TransportFactory make_transport_;
  int immediate_error_ = 0;  // errno of a connect(2) that failed at once
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point deadline_{};
  Callback callback_;
};

}  // namespace fulcrum::net
