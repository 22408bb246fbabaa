// One proxied TCP connection: pick a server, connect (on failure or timeout
// try the next server not yet tried, primaries before backups), then pump
// bytes both ways until both sides are done, an error, or idle timeout.
// Over the upstream's circuit breaker max_connections the client is closed
// at once. Connect results go to outlier detection. With the upstream's
// proxy_protocol, each server connection opens with a PROXY header that
// names the client.
// Owned by the worker that accepted it; runs on that worker's loop only.
// When it ends it calls `on_done` exactly once; the owner must then hand the
// session to deferDelete (it is still inside the session's callbacks).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/access_log.h"
#include "core/socket_address.h"
#include "metrics/worker_metrics.h"
#include "net/byte_pump.h"
#include "net/event_loop.h"
#include "net/session.h"
#include "net/stream.h"
#include "upstream/attempt_report.h"
#include "upstream/breaker_slots.h"
#include "upstream/picker.h"
#include "upstream/upstream_connector.h"

namespace fulcrum::l4 {

// What a session needs from its worker and config generation. Everything
// referenced here is kept alive by `generation` for the session's life.
struct TcpSessionParams {
  net::EventLoop* loop = nullptr;
  std::shared_ptr<const net::Generation> generation;
  const std::string* listener_name = nullptr;
  upstream::UpstreamPicker* picker = nullptr;
  std::chrono::milliseconds idle_timeout{0};
  AccessLog* access_log = nullptr;               // may be null (access log off)
  upstream::AttemptSink* reporter = nullptr;     // outlier detection; may be null
  metrics::UpstreamCounters* metrics = nullptr;  // this worker's; may be null
};

// Per direction; the worst case memory of one session is about twice this.
constexpr size_t kMaxBufferedPerDirection = size_t{256} * 1024;

class TcpSession final : public net::Session {
 public:
  using DoneCallback = std::function<void(net::Session&)>;

  // `client`: the accepted connection, minus its PROXY header; bytes
  // already in its input go to the server first.
  TcpSession(TcpSessionParams params, std::unique_ptr<net::Stream> client,
             const net::ClientAddresses& addresses, DoneCallback on_done);
  ~TcpSession() override;

  void start() override;
  // Logs the connection as ended by shutdown (see net::Session).
  void abandon() override;

 private:
  void connectNext();
  void onConnect(upstream::UpstreamConnectResult result);
  void report(upstream::AttemptOutcome outcome);
  void onPumpDone(const net::BytePump::Result& result);
  void end(const char* outcome, const std::string& detail);
  void writeAccessLog(const char* outcome, const std::string& detail);

  TcpSessionParams params_;
  std::unique_ptr<net::Stream> client_;  // until the pump takes it
  SocketAddress client_address_;
  std::string proxy_header_;  // what each server connection opens with; empty: none
  DoneCallback on_done_;
  upstream::UpstreamConnector connector_;
  std::unique_ptr<net::BytePump> pump_;
  const upstream::Server* server_ = nullptr;  // the one being tried or connected
  std::chrono::steady_clock::time_point started_;
  bool counted_ = false;  // in the server's active connection count
  // One max_connections unit for the whole session (its one server
  // connection at a time).
  upstream::BreakerSlots slots_;
};

}  // namespace fulcrum::l4
