// One request's or connection's way to its upstream's servers, as the TCP
// proxy and the HTTP exchange both walk it: pick a server not tried yet,
// connect to it within the upstream's connect timeout (for a TLS upstream,
// the handshake and the certificate's verification too, resuming the
// server's last session), and hand back a stream or a typed failure. What
// a failure means for the server (outlier detection, metrics, logs) is the
// caller's to report; the connector only keeps the failures' text together
// for the client's error and the log.
//
// Owned by the session or exchange it serves, on one worker's loop. The
// callback runs from the loop, never inside connect(); it may call
// connect() again, but must not destroy the connector.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/connector.h"
#include "net/event_loop.h"
#include "upstream/picker.h"
#include "upstream/server.h"
#include "upstream/tried_set.h"

namespace fulcrum::upstream {

struct UpstreamConnectResult {
  const Server* server = nullptr;  // the server this connect went to
  std::unique_ptr<net::Stream> stream;
  net::ConnectFailure failure = net::ConnectFailure::None;
  int error_number = 0;
  std::string detail;  // for people
  // From connect() to the callback: least_time learns from it.
  std::chrono::microseconds took{0};
  bool ok() const { return stream != nullptr; }
  bool local() const { return failure == net::ConnectFailure::LocalResource; }
};

class UpstreamConnector {
 public:
  using Callback = std::function<void(UpstreamConnectResult result)>;

  UpstreamConnector(net::EventLoop& loop, UpstreamPicker& picker)
      : picker_(picker), connector_(loop) {}

  // The next server this request may use (primaries first, none tried
  // before), or nullptr when none is left. While every try so far failed
  // to connect, an ejected server (HostSets::standby) comes after the
  // rest. Does not mark it tried.
  const Server* next(std::optional<uint64_t> hash);
  // A try that reuses a kept-alive connection to `server`.
  void markTried(const Server& server) { tried_.add(server.index); }
  // Bytes every new connection starts with (a PROXY header), sent in clear
  // before the TLS handshake, if any, and before the callback sees the
  // stream. `bytes` must outlive the connector's connects.
  void setPreamble(std::string_view bytes) { preamble_ = bytes; }
  // Marks `server` tried and connects to it. A connect already pending is
  // cancelled first.
  void connect(const Server& server, Callback done);
  void cancel() { connector_.cancel(); }

  // A try at `server` that turned out to be a failed connect after the
  // callback had a stream (a TLS handshake the server refused late): kept
  // with the others, as if the connect had failed.
  void noteFailure(const Server& server, const std::string& detail);

  size_t triedCount() const { return tried_.size(); }
  // "pay-a: Connection refused; local: Too many open files": every failed
  // connect so far, in order.
  const std::string& failures() const { return failures_; }

 private:
  void recordFailure(const std::string& who, const std::string& detail);

  UpstreamPicker& picker_;
  net::Connector connector_;
  TriedSet tried_;
  size_t connect_failures_ = 0;
  std::string failures_;
  std::string_view preamble_;
};

}  // namespace fulcrum::upstream
