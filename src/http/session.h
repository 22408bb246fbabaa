// One client connection of an HTTP listener, on its worker's loop.
// Reads request heads one at a time (pipelined requests wait in the input
// and are answered in order), answers what it can itself (400, 404, 408,
// 413, 414, 431 and the errors an Exchange reports), routes the rest to an
// Exchange, keeps the connection alive between requests, and turns into a
// byte tunnel after a 101 (session.cc: the connection; session_dispatch.cc:
// the requests). Owned by the worker; it calls `on_done` exactly once when
// it ends, from inside its own callbacks (the worker must deferDelete it
// then).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/access_log.h"
#include "core/random.h"
#include "core/socket_address.h"
#include "core/thread_cached.h"
#include "http/codec/head_scanner.h"
#include "http/codec/parser.h"
#include "http/exchange.h"
#include "http/idempotent_request.h"
#include "http/listener_settings.h"
#include "http/parking.h"
#include "http/retry_budget.h"
#include "metrics/worker_metrics.h"
#include "net/byte_pump.h"
#include "net/proxy_protocol.h"
#include "net/session.h"
#include "net/stream.h"
#include "net/timer.h"
#include "upstream/attempt_report.h"
#include "upstream/conn_pool.h"
#include "upstream/picker.h"
#include "upstream/wait_queue.h"

namespace fulcrum::http {

// The worker's per-upstream state, by upstream index in the Runtime.
struct UpstreamState {
  upstream::UpstreamPicker* picker = nullptr;
  upstream::ConnPool* pool = nullptr;
  upstream::AttemptSink* reporter = nullptr;
  upstream::ConnectionWaitQueue* waiters = nullptr;  // for the circuit breaker
  metrics::UpstreamCounters* metrics = nullptr;
  RetryBudget* retry_budget = nullptr;  // this worker's, for this upstream
};

struct HttpSessionParams;

// Where a kept-alive connection finds the configuration generation its next
// request must use (a SIGHUP reload switches workers to a new one). Owned
// by the worker, which outlives its sessions; worker thread only.
class GenerationSource {
 public:
  // Bumped by every switch: a session compares it before each request.
  virtual uint64_t currentGeneration() const = 0;
  // Points `params` at the current generation's parts for the same
  // listener (by name); false when that listener is gone (the connection
  // stays on its old generation and closes after this request).
  virtual bool refresh(HttpSessionParams& params) = 0;

 protected:
  ~GenerationSource() = default;
};

struct HttpSessionParams {
  net::EventLoop* loop = nullptr;
  GenerationSource* source = nullptr;  // may be null (tests): never switches
  uint64_t generation_id = 0;
  std::shared_ptr<const net::Generation> generation;  // keeps everything below alive
  // The generation's upstreams, in the order `upstreams` follows.
  const std::vector<upstream::Upstream>* built_upstreams = nullptr;
  const ListenerSettings* listener = nullptr;
  const std::vector<UpstreamState>* upstreams = nullptr;
  Random* random = nullptr;  // the worker's, for request ids
  metrics::ListenerCounters* listener_metrics = nullptr;
  AccessLog* access_log = nullptr;
  // Given to every exchange (exchange_hooks.h); null: requests go straight
  // to their upstream.
  ExchangeHooks* hooks = nullptr;
  // Where routes' idempotency ledgers keep their entries: the process's
  // memory store or this worker's Redis connection; null: no route has one.
  ledger::Store* ledger_store = nullptr;
  // Where the time of its operations is counted (this worker generation's).
  ledger::StoreTimings* ledger_timings = nullptr;
  // Where the connection waits when idle long enough (http/parking.h);
  // null: it never leaves its session.
  ConnectionParking* parking = nullptr;
  IdleWaits* idle_waits = nullptr;  // set with `parking`
  uint32_t listener_index = 0;      // of `listener` in its generation, for parking
  // The connection comes back from parking: it was answered before (a
  // drain closes it at once, as any idle kept-alive connection).
  bool resumed = false;
};

class HttpSession final : public net::Session,
                          public core::ThreadCached<HttpSession>,
                          private ExchangeOwner,
                          private net::StreamHandler {
 public:
  using DoneCallback = std::function<void(net::Session&)>;

  // `client`: the accepted connection, minus its PROXY header; bytes
  // already in its input are read at start().
  HttpSession(HttpSessionParams params, std::unique_ptr<net::Stream> client,
              const net::ClientAddresses& addresses, DoneCallback on_done);
  ~HttpSession() override;

  void start() override;
  void drain() override;
  void closeAfterResponse() override;
  void abandon() override;

 private:
  enum class State { WaitingHead, Exchanging, Tunnel, Closing, Done };

  // The client connection's events.
  void onReadable(net::Stream& stream) override;
  void onDrained(net::Stream& stream) override;
  void onClosed(net::Stream& stream, bool error, int code) override;

  void readHead();
  void readOneHead();
  void startUnparsedRequest();
  void beginRequest();
  // A reload happened since the last request: use the new generation.
  void switchGeneration();
  // `result`: the failed exchange this answers for, if any (for the log).
  void answerError(int status, const std::string& detail, bool close, int retry_after = 0,
                   const ExchangeResult* result = nullptr);
  void exchangeFinished(Exchange& exchange, const ExchangeResult& result) override;
  void exchangeUpgraded(Exchange& exchange, const ExchangeResult& result,
                        std::unique_ptr<net::Stream> server) override;
  // A request of a method the route's ledger watches: its hooks, unless it
  // has no key and needs none. Reads head_.
  void watchIdempotency(const IdempotencySettings& settings);
  // The request's ledger hooks, if any, learn how it ended and go.
  void endIdempotent(const ExchangeResult& result);
  void afterResponse(bool close);
  // The connection waits for its next request (counted in params_.idle_waits,
  // which decides how soon it parks) or no longer does: how long to wait
  // before parking (max() when it cannot park).
  std::chrono::milliseconds startIdleWait();
  void endIdleWait();
  void closeGracefully();
  // client_timer_ fired: a 408, the end of a lingering close, or, idle
  // between requests, close, park or wait on.
  void clientTimedOut();
  void idleTimedOut();
  // Hands the idle connection to params_.parking and ends; false when it
  // cannot (anything buffered or pending, TLS, draining).
  bool park();
  void end();
  void logRequest(int status, const ExchangeResult* result, uint64_t bytes_out,
                  const std::string& detail);
  // The PROXY header that names this session's client, in `version`.
  const std::string& proxyHeader(net::ProxyVersion version);

  HttpSessionParams params_;
  SocketAddress client_address_;
  SocketAddress local_address_;  // where the client connected to (for PROXY headers)
  // The client is the TCP peer (no PROXY header named another): a parked
  // connection need not keep its address, the socket knows it.
  bool client_is_peer_ = false;
  std::string client_ip_;
  // By ProxyVersion - 1; made on first use. Server connections pooled under
  // them serve this session only and close with it.
  std::string proxy_headers_[2];
  DoneCallback on_done_;
  std::unique_ptr<net::Stream> client_;
  // X-Forwarded-Client-Cert for every request of this connection: the
  // verified client certificate, on a listener that asks for one.
  std::string client_cert_;
  State state_ = State::WaitingHead;
  std::shared_ptr<const net::Generation> retired_generation_;  // see switchGeneration()
  bool listener_gone_ = false;
  bool draining_ = false;
  bool answered_ = false;            // a response went out: the connection is kept alive
  bool counted_as_waiting_ = false;  // in params_.idle_waits (startIdleWait())
  // The client sent its FIN: answer what it asked, then close.
  bool peer_closed_ = false;
  // The client asked to close (Connection: close, or HTTP/1.0 without
  // keep-alive) and the request was read to its end: it sends nothing more
  // (RFC 9112, 9.6), so the close needs no lingering read for its FIN.
  bool client_done_ = false;
  bool reading_heads_ = false;  // readHead() is on the stack
  bool read_again_ = false;     // ...and was asked again from below
  // One timer for the waits that never overlap: client_header (the whole
  // head must arrive in time), client_idle (between requests, until the
  // connection is parked) and the lingering close.
  enum class Wait : uint8_t { Head, Idle };  // Idle in Closing: the linger
  Wait waiting_for_ = Wait::Head;
  net::Timer client_timer_;
  std::chrono::steady_clock::time_point idle_since_;  // the last response went out
  net::Timer request_timer_;  // timeouts.request: the whole exchange, when set
  RequestHead head_;
  HeadScanner head_scanner_;  // reads head_; starts over by itself for each pipelined request
  // The ledger's hooks of the request in flight (declared before the
  // exchange, which points at them, so they outlive it).
  std::unique_ptr<IdempotentRequest> idempotent_;
  std::unique_ptr<Exchange> exchange_;
  std::unique_ptr<net::BytePump> tunnel_;
  // The request in flight, for the access log.
  std::string request_id_;
  std::string method_;
  std::string path_;
  // The canonical path of the request being routed, when it differs from
  // what the client sent; reused, so its capacity stays.
  std::string normalized_path_;
  const upstream::Upstream* upstream_ = nullptr;
  std::chrono::steady_clock::time_point request_started_;
};

}  // namespace fulcrum::http
