// One non-blocking TCP connect with a deadline, on an EventLoop.
// The Connector owns the socket until the connect succeeds, then hands the
// connected fd to the callback, which owns it from then on. Destroying the
// Connector cancels a pending connect (and closes its socket). The callback
// always runs from the loop, never inside connect(), and may start a new
// connect on the same Connector; it must not destroy the Connector.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

#include "core/local_errors.h"
#include "core/socket_address.h"
#include "net/event_loop.h"

namespace fulcrum::net {

struct ConnectResult {
  int fd = -1;             // connected socket on success, else -1
  bool timed_out = false;  // failure because the deadline passed
  int error_number = 0;    // errno of a failure other than the deadline
  std::string error;       // why it failed ("connection refused", ...)
  bool ok() const { return fd >= 0; }
  // The failure is fulcrum's own (out of descriptors, buffers, memory or
  // local ports: core/local_errors.h), not the server's: callers must not
  // count it against the server.
  bool local() const { return error_number != 0 && isLocalResourceError(error_number); }
};

class Connector {
 public:
  using Callback = std::function<void(const ConnectResult&)>;

  explicit Connector(EventLoop& loop) : loop_(loop) {}
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Starts a connect; a connect already pending is cancelled first.
  void connect(const SocketAddress& address, std::chrono::milliseconds timeout, Callback callback);
  void cancel();

 private:
  static void onEvent(evutil_socket_t fd, short what, void* self);
  void finish(const ConnectResult& result);

  EventLoop& loop_;
  event* event_ = nullptr;
  int fd_ = -1;
  int immediate_error_ = 0;  // errno of a connect(2) that failed at once
  std::chrono::milliseconds timeout_{0};
  Callback callback_;
};

}  // namespace fulcrum::net
