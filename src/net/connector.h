// One non-blocking connect with a deadline, on an EventLoop, that ends in a
// Stream: the TCP connect, then an optional preamble in clear (a PROXY
// header), then the transport's handshake (none for a plain socket; TLS),
// all within the one deadline. A failure is typed, so health checks,
// outlier detection, metrics and logs read what happened without parsing
// text; `detail` is for people only.
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
#include <string_view>

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
  // A Timeout that came after the TCP connect, in the preamble or the
  // handshake.
  bool in_handshake = false;
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
  // `preamble` goes out on the socket itself, before the transport's
  // handshake: a PROXY header precedes a TLS ClientHello in clear.
  void connect(const SocketAddress& address, std::chrono::milliseconds timeout, Callback callback,
               TransportFactory transport = nullptr, std::string_view preamble = {});
  void cancel();
  // The TCP connect is done and the preamble or the handshake is under
  // way (for a timeout's message).
  bool handshaking() const { return transport_ != nullptr; }

 private:
  static void onEvent(evutil_socket_t fd, short what, void* self);
  void connected();
  void shake();
  // Sends what is left of the preamble; false when it must wait or failed
  // (and the connector then waits or has finished).
  bool sendPreamble();
  void wait(short what);
  void finish(ConnectResult result);
  void failWith(int error);

  EventLoop& loop_;
  event* event_ = nullptr;
  int fd_ = -1;
  std::unique_ptr<Transport> transport_;  // after the TCP connect, in its handshake
  TransportFactory make_transport_;
  std::string preamble_;     // what is left to send of it
  int immediate_error_ = 0;  // errno of a connect(2) that failed at once
  std::chrono::milliseconds timeout_{0};
  std::chrono::steady_clock::time_point deadline_{};
  Callback callback_;
};

}  // namespace fulcrum::net
