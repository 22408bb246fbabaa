// One request's trip to a server and back: take a pooled connection or
// connect (a failed connect moves on to the next server, nothing having
// been sent), send the rewritten head, stream the request body up and the
// response down with watermark backpressure, and give the connection back
// to the pool when both messages ended cleanly. Each try at a server is an
// UpstreamAttempt (upstream_attempt.h), replaced by the next try; hooks
// (exchange_hooks.h) may hold the request before it is forwarded, answer
// it themselves, and watch the response.
//
// Owned by an HttpSession, on its worker's loop. It borrows the session's
// client connection: it reads the request body from it and writes the
// response into it, and asks the session (ExchangeOwner) to do everything
// else. It reports exactly once, exchangeFinished() or exchangeUpgraded(),
// from inside its own callbacks: the owner must deferDelete it then.
// A failure before any response byte reached the client is reported with a
// status (502, 503, 504, 400, 413) for the session to answer.
// With a circuit breaker, the exchange holds a request unit for its life, a
// pending unit while it waits for a connection, and a connection unit while
// it holds a server connection (the pool takes that one over with it).
// Each attempt's result goes to the outlier-detection sink. A request is
// sent again only as the money-safe rule allows (retry_policy.h, DESIGN.md
// section 7): after a failed connect, or, for an idempotent or keyed
// request whose body is still held for replay, after a reset, a timeout or
// a retryable 502/503/504 before any response byte went to the client.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/thread_cached.h"
#include "http/admission.h"
#include "http/codec/body_forwarder.h"
#include "http/codec/head_scanner.h"
#include "http/codec/parser.h"
#include "http/exchange_hooks.h"
#include "http/retry_tracker.h"
#include "http/upstream_attempt.h"
#include "metrics/worker_metrics.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "upstream/attempt_report.h"
#include "upstream/conn_pool.h"
#include "upstream/picker.h"
#include "upstream/upstream_connector.h"
#include "upstream/wait_queue.h"

namespace fulcrum::http {

// What the exchange needs of the request after its head left the buffer.
struct RequestInfo {
  Framing framing = Framing::None;
  uint64_t content_length = 0;
  uint64_t max_body = 0;  // 0 = no limit
  bool is_head = false;
  bool expect_continue = false;
  bool upgrade = false;
  bool client_close = false;         // the client connection closes after this response
  bool http10 = false;               // the client spoke HTTP/1.0
  bool idempotent = false;           // GET HEAD OPTIONS PUT DELETE TRACE
  bool has_idempotency_key = false;  // the upstream's idempotency header, not empty
  std::optional<uint64_t> hash;      // the request's hash key, for ring_hash / maglev
  // The PROXY header a new server connection opens with (the upstream's
  // proxy_protocol); such a connection is pooled for this client
  // connection only. Empty: none.
  std::string proxy_header;
};

// What the session does once an exchange ended.
enum class ExchangeEnd {
  ProxyAnswers,  // nothing went to the client: the session answers `status` itself
  ClientLost,    // the client went away, or can take nothing more: the connection ends
  Responded,     // a response went to the client (whole, or cut short when `error`)
};

struct ExchangeResult {
  ExchangeEnd end() const {
    if (!response_started && error && status != 0) return ExchangeEnd::ProxyAnswers;
    if (!response_started || client_gone) return ExchangeEnd::ClientLost;
    return ExchangeEnd::Responded;
  }

  int status = 0;                 // the status the client got, or must get (error_status)
  bool response_started = false;  // bytes of a response went to the client
  bool error = false;             // failed (when !response_started: answer `status`)
  bool client_close = false;      // the client connection cannot be reused
  bool client_gone = false;       // the client's connection failed: nothing more can be sent
  bool request_read = false;      // the request body was read to its end
  std::string detail;             // why it failed, for the logs
  const upstream::Server* server = nullptr;  // the last server tried, if any
  int attempts = 0;
  uint64_t request_bytes = 0;                           // request body bytes sent up
  uint64_t response_bytes = 0;                          // response bytes (head and body) sent down
  std::chrono::steady_clock::time_point connected;      // zero when never connected
  std::chrono::steady_clock::time_point response_head;  // zero when none came
  // A non-idempotent request that may have reached a server and got no
  // answer: the client must look it up, not repeat it blindly.
  bool outcome_unknown = false;
  std::vector<AttemptRecord> attempt_log;
  bool attempts_header = true;  // X-Fulcrum-Attempts on fulcrum's own answers too
};

class Exchange;

class ExchangeOwner {
 public:
  virtual void exchangeFinished(Exchange& exchange, const ExchangeResult& result) = 0;
  // A 101 went to the client: from now on bytes flow both ways untouched.
  // The owner takes `server` (and keeps the client).
  virtual void exchangeUpgraded(Exchange& exchange, const ExchangeResult& result,
                                std::unique_ptr<net::Stream> server) = 0;

 protected:
  ~ExchangeOwner() = default;
};

struct ExchangeContext {
  net::EventLoop* loop = nullptr;
  net::Stream* client = nullptr;  // the session's; outlives the exchange
  upstream::UpstreamPicker* picker = nullptr;
  upstream::ConnPool* pool = nullptr;
  const Limits* limits = nullptr;
  // Longest pause in a request body the client is sending (client_body);
  // past it the client gets 408 (or is closed, if the response started).
  std::chrono::milliseconds client_body_timeout{60000};
  upstream::AttemptSink* reporter = nullptr;         // outlier detection; may be null
  upstream::ConnectionWaitQueue* waiters = nullptr;  // circuit breaker queue; may be null
  metrics::UpstreamCounters* metrics = nullptr;      // this worker's counters; may be null
  RetryBudget* retry_budget = nullptr;               // this worker's; may be null
  Random* random = nullptr;                          // the worker's, for backoff jitter
  // The whole request body's deadline (client_body_total; 0 = none), and
  // the longest a server may take no byte of the request (upstream_send).
  std::chrono::milliseconds client_body_total_timeout{0};
  std::chrono::milliseconds upstream_send_timeout{60000};
  ExchangeHooks* hooks = nullptr;  // may be null; see exchange_hooks.h
};

// Per direction, like the TCP proxy.
constexpr size_t kHttpMaxBuffered = size_t{256} * 1024;

class Exchange final : public net::DeferredDeletable,
                       public core::ThreadCached<Exchange>,
                       private net::StreamHandler {
 public:
  // `request_head` is the rewritten head to send; it is moved out of.
  Exchange(const ExchangeContext& context, ExchangeOwner& owner, const RequestInfo& request,
           evbuffer* request_head);
  ~Exchange() override;

  void start();
  // The session's client callbacks, forwarded while this exchange runs.
  void clientReadable();
  void clientWritable();
  void clientClosed(bool error, const std::string& why);
  // The client connection closes after this response (a drain began): say
  // so in the response head, if it has not gone out yet.
  void closeClientAfter() { request_.client_close = true; }
  // timeouts.request passed: end now with what the rule allows (408 while
  // the client still sends its body, 504 before any response byte, else
  // close the client), never retrying.
  void requestTimedOut(std::chrono::milliseconds limit);

 private:
  friend class ForwardDecision;
  // The hooks' step before forwarding ended (exchange_hooks.h).
  void proceedForwarding();
  void answerLocally(LocalAnswer answer);
  // Reads the request body into pending_ for hooks that decide on it
  // (bodyBeforeDecision), then asks them.
  void collectBody();
  void admitAndConnect();
  // Hooks see the body bytes appended to the client's output from `from` on.
  void observeBody(evbuffer* to_client, size_t from);

  void connectNext();
  // A new try at `server` replaces the last one (its connection dropped).
  void beginAttempt(const upstream::Server& server, bool reused);
  // Drops the current try and its connection, if any.
  void endAttempt();
  // The current try's server connection; null between tries.
  net::Stream* server() const { return attempt_ ? attempt_->stream() : nullptr; }
  void onConnect(upstream::UpstreamConnectResult result);
  // The try reached no server's application: its connect failed, or
  // (`handed_over`: the request already went to the connection) its TLS
  // handshake was refused late. Moves on to the next server when the
  // rules allow and the request can be sent again; otherwise answers.
  void connectFailed(const std::string& detail, bool handed_over);
  void useConnection(std::unique_ptr<net::Stream> connection);
  void pumpRequest();
  // Backpressure: reads the client while the server takes more, and while
  // the request or the connection after it has bytes to come.
  void readClientOnlyIfKept(bool server_full);
  void startResponseClock();
  std::chrono::milliseconds currentTimeout() const;
  void pumpResponse();
  void readResponseHeads();
  void onResponseTimeout();
  void onBodyTimeout(const std::string& why);
  void finish(bool error, const std::string& detail);
  void fail(int status, const std::string& detail);
  void releaseServerConnection(bool reusable);
  // After a failed attempt: retry if the rule allows (retry_policy.h), else
  // answer `status` (502 with outcome unknown for a non-idempotent request
  // that may have been processed).
  void attemptFailed(AttemptPhase phase, AttemptFailure failure, int status,
                     const std::string& detail);
  void retryAfter(std::chrono::milliseconds delay, bool same_server);
  void reconnectSameServer();
  void failUnanswered(int status, const std::string& detail);

  // The server connection's events.
  void onReadable(net::Stream& stream) override;
  void onDrained(net::Stream& stream) override;
  void onClosed(net::Stream& stream, bool error, int code) override;

  ExchangeContext context_;
  ExchangeOwner& owner_;
  RequestInfo request_;
  net::RecycledBuffer pending_;  // the rewritten head and body bytes checked before connecting
  net::RecycledBuffer scratch_;  // body bytes on their way up, while a copy is kept
  RetryTracker retry_;
  net::Timer retry_timer_;  // backoff, and a clean stack, before a retry
  bool retry_same_server_ = false;
  bool sent_once_ = false;  // the first attempt's bytes are kept already
  int last_status_ = 0;     // what the client gets if no server is left
  std::string last_detail_;
  upstream::UpstreamConnector connector_;  // picks, connects, keeps the tried set
  net::Timer body_timer_;                  // client_body: a pause in the request body
  net::Timer body_deadline_timer_;         // client_body_total: the whole request body
  Admission admission_;
  std::unique_ptr<UpstreamAttempt> attempt_;  // the current try; null before the first
  BodyForwarder request_body_;
  ExchangeResult result_;
  bool finished_ = false;
  bool response_done_ = false;         // the response is through; the request body is not yet
  unsigned interim_responses_ = 0;     // 1xx heads received for this request
  bool awaiting_decision_ = false;     // the hooks' step before forwarding runs
  uint64_t body_before_decision_ = 0;  // > 0: the body is read whole before it
  size_t head_length_ = 0;             // of the rewritten head at the front of pending_
  bool answered_locally_ = false;
  // ForwardDecision reaches the exchange through this, and not after it.
  // Made only when there are hooks: no allocation per request otherwise.
  std::shared_ptr<Exchange*> self_;
};

}  // namespace fulcrum::http
