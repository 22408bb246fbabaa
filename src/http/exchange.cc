#include "http/exchange.h"

#include <event2/buffer.h>

#include "core/local_errors.h"
#include "http/codec/head_writer.h"

namespace fulcrum::http {
Exchange::Exchange(const ExchangeContext& context, ExchangeOwner& owner, const RequestInfo& request,
                   evbuffer* request_head)
    : context_(context),
      owner_(owner),
      request_(request),
      pending_(evbuffer_new()),
      scratch_(evbuffer_new()),
      retry_(context.picker->upstream().retries,
             RetryRequest{request.idempotent, request.has_idempotency_key, true},
             context.retry_budget, context.metrics, context.random),
      retry_timer_(*context.loop,
                   [this] { retry_same_server_ ? reconnectSameServer() : connectNext(); }),
      connector_(*context.loop, *context.picker),
      response_timer_(*context.loop, [this] { onResponseTimeout(); }),
      body_timer_(*context.loop,
                  [this] {
                    onBodyTimeout("the client sent no request body bytes for " +
                                  std::to_string(context_.client_body_timeout.count()) + "ms");
                  }),
      body_deadline_timer_(
          *context.loop,
          [this] {
            onBodyTimeout("the client did not send its whole request body within " +
                          std::to_string(context_.client_body_total_timeout.count()) + "ms");
          }),
      admission_(
          *context.loop, context.picker->upstream(), context.waiters, [this] { connectNext(); },
          [this](const std::string& why) { fail(503, why); }),
      request_body_(request.framing, request.content_length, *context.limits, request.max_body) {
  evbuffer_add_buffer(pending_, request_head);
}

Exchange::~Exchange() {
  evbuffer_free(pending_);
  evbuffer_free(scratch_);
  dropServerConnection();
}

void Exchange::serverDone() {
  if (!counted_) return;
  counted_ = false;
  context_.picker->load().finished(result_.server->index);
}

void Exchange::dropServerConnection() {
  serverDone();
  if (!server_) return;
  admission_.connectionClosed();
  server_->setHandler(nullptr);
  server_->setReading(false);
  // It may be inside its own callback up the stack.
  context_.loop->deferDelete(std::move(server_));
}

void Exchange::start() {
  // Body bytes that came with the head are checked before any server is
  // chosen: a malformed body that is already here never leaves the proxy.
  result_.request_bytes += request_body_.forward(context_.client->input(), pending_);
  if (request_body_.failed()) {
    fail(request_body_.overLimit() ? 413 : 400, request_body_.error());
    return;
  }
  if (!request_body_.done()) {
    body_timer_.arm(context_.client_body_timeout);
    // A trickle of bytes keeps the pause timer at bay; this one it cannot.
    if (context_.client_body_total_timeout.count() > 0)
      body_deadline_timer_.arm(context_.client_body_total_timeout);
  }
  if (auto refused = admission_.admitRequest()) {
    fail(503, *refused);
    return;
  }
  connectNext();
}

void Exchange::connectNext() {
  const upstream::Server* next = connector_.next(request_.hash);
  if (next == nullptr) {
    if (last_status_ != 0)
      failUnanswered(last_status_, last_detail_);  // a retry found no server left
    else
      fail(503, connector_.failures().empty() ? "no usable server" : connector_.failures());
    return;
  }
  // A request that must not be repeated avoids old kept-alive connections,
  // the ones a server is most likely to be closing right now.
  auto pooled = retry_.safeToRepeat() ? context_.pool->take(next->index)
                                      : context_.pool->take(next->index, retry_.reuseSafeWindow());
  if (pooled) {
    admission_.adoptPooledConnection();
    result_.server = next;
    connector_.markTried(*next);
    ++result_.attempts;
    retry_.attemptStarted(next);
    reused_ = true;
    useConnection(std::move(pooled));
    return;
  }
  std::string refused;
  switch (admission_.reserveConnection(refused)) {
    case Admission::Slot::Granted:
      break;
    case Admission::Slot::Waiting:
      return;  // connectNext() again once a connection may be free
    case Admission::Slot::Refused:
      fail(503, refused);
      return;
  }
  result_.server = next;
  ++result_.attempts;
  retry_.attemptStarted(next);
  connector_.connect(
      *next, [this](upstream::UpstreamConnectResult result) { onConnect(std::move(result)); });
}

void Exchange::onConnect(upstream::UpstreamConnectResult result) {
  if (!result.ok() && result.local()) {
    // Out of descriptors, ports or memory here: not the server's fault, so
    // nothing counts against it, and no other server is tried (the same
    // local limit stands in the way of every connect). 503: nothing was sent.
    countLocalError(LocalSite::Connect, result.error_number);
    retry_.attemptEnded(AttemptPhase::NotSent, result.detail);
    if (last_status_ != 0)
      failUnanswered(last_status_, connector_.failures());
    else
      fail(503, connector_.failures());
    return;
  }
  if (!result.ok()) {
    reportAttempt(health::AttemptOutcome::ConnectFailure);
#if FULCRUM_REQUEST_METRICS
    if (context_.metrics != nullptr)
      ++context_.metrics->servers[result_.server->index].connect_failures;
#endif
    retry_.attemptEnded(AttemptPhase::NotSent, result.detail);
    if (retry_.decide(AttemptPhase::NotSent, AttemptFailure::ConnectFailure) ==
        RetryDecision::Retry)
      connectNext();  // nothing was sent: the next server at once
    else if (last_status_ != 0)
      failUnanswered(last_status_, connector_.failures());  // an earlier attempt was sent
    else
      fail(503, connector_.failures());
    return;
  }
  admission_.connected();
  useConnection(std::move(result.stream));
}

void Exchange::useConnection(std::unique_ptr<net::Stream> connection) {
  server_ = std::move(connection);
  response_scanner_.reset();  // a head half read from the last attempt's server is void
  result_.connected = std::chrono::steady_clock::now();
  context_.picker->load().started(result_.server->index);
  counted_ = true;
  server_->setHandler(this);
  server_->setLowWatermark(kHttpMaxBuffered / 2);
  server_->setSendTimeout(context_.upstream_send_timeout);
  server_->setReading(true);
  // The first attempt's bytes are kept (up to retry_buffer) for a replay; a
  // retry sends what was kept, which is already there.
  if (!sent_once_) retry_.keep(pending_);
  sent_once_ = true;
  evbuffer_add_buffer(server_->output(), pending_);
  pumpRequest();
  if (server_) server_->flush();
  startResponseClock();
}

std::chrono::milliseconds Exchange::currentTimeout() const {
  // Until the response head, one attempt's own time (a retry may follow);
  // then the response timeout between reads of the body.
  const upstream::Upstream& upstream = context_.picker->upstream();
  return response_body_ ? upstream.response_timeout : upstream.retries.per_try_timeout;
}

void Exchange::startResponseClock() {
  // The response timeout runs once the whole request is handed over: a slow
  // upload is the client's time, not the server's.
  if (!finished_ && request_body_.done() && !response_body_ && !response_timer_.armed())
    response_timer_.arm(currentTimeout());
}

void Exchange::clientReadable() {
  pumpRequest();
}

void Exchange::pumpRequest() {
  if (finished_ || !server_ || request_body_.done()) return;
  evbuffer* output = server_->output();
  size_t moved;
  if (retry_.replayable()) {
    moved = request_body_.forward(context_.client->input(), scratch_);
    retry_.keep(scratch_);
    evbuffer_add_buffer(output, scratch_);
  } else {
    moved = request_body_.forward(context_.client->input(), output);
  }
  result_.request_bytes += moved;
  if (request_body_.failed()) {
    fail(request_body_.overLimit() ? 413 : 400, request_body_.error());
    return;
  }
  if (response_done_ && request_body_.done()) {
    finish(false, "");
    return;
  }
  startResponseClock();
  server_->flush();
  // Backpressure: stop reading the client while the server is behind (and
  // then the client is not on the clock either).
  bool full = evbuffer_get_length(output) >= kHttpMaxBuffered;
  if (full == context_.client->reading()) context_.client->setReading(!full);
  if (request_body_.done()) body_deadline_timer_.cancel();
  if (request_body_.done() || full)
    body_timer_.cancel();
  else if (moved > 0 || !body_timer_.armed())
    body_timer_.arm(context_.client_body_timeout);
}

void Exchange::onDrained(net::Stream&) {
  pumpRequest();
}

void Exchange::attemptFailed(AttemptPhase phase, AttemptFailure failure, int status,
                             const std::string& detail) {
  retry_.attemptEnded(phase, failure == AttemptFailure::Timeout ? "timeout"
                             : failure == AttemptFailure::StaleConnection
                                 ? "closed (reused connection)"
                                 : "reset");
  if (retry_.decide(phase, failure) != RetryDecision::Retry) {
    failUnanswered(status, detail);
    return;
  }
  last_status_ = status;
  last_detail_ = detail;
  retryAfter(retry_.backoff(failure), failure == AttemptFailure::StaleConnection);
}

void Exchange::failUnanswered(int status, const std::string& detail) {
  // It may have been processed: a payment client must look it up.
  if (!request_.idempotent && sent_once_) {
    result_.outcome_unknown = true;
    status = 502;
  }
  fail(status, detail);
}

void Exchange::retryAfter(std::chrono::milliseconds delay, bool same_server) {
  dropServerConnection();
  response_timer_.cancel();
  response_head_ = ResponseHead{};
  response_body_.reset();
  server_paused_ = false;
  reused_ = false;
  evbuffer_drain(pending_, evbuffer_get_length(pending_));
  retry_.replayInto(pending_);
  retry_same_server_ = same_server;
  // Always from the timer: we are inside the failed connection's callbacks.
  retry_timer_.arm(delay);
}

void Exchange::reconnectSameServer() {
  std::string refused;
  if (admission_.reserveConnection(refused) != Admission::Slot::Granted) {
    fail(503, refused.empty() ? "circuit breaker: no connection for the retry" : refused);
    return;
  }
  admission_.connected();
  ++result_.attempts;
  retry_.attemptStarted(result_.server);
  // The same server, on a new connection: its kept-alive one was stale, the
  // server itself may be fine.
  connector_.connect(*result_.server, [this](upstream::UpstreamConnectResult result) {
    onConnect(std::move(result));
  });
}

void Exchange::onBodyTimeout(const std::string& why) {
  if (finished_ || request_body_.done()) return;
  if (result_.response_started)
    finish(true, why);
  else
    fail(408, why);
}

void Exchange::requestTimedOut(std::chrono::milliseconds limit) {
  if (finished_) return;
  const std::string why = "the request took longer than " + std::to_string(limit.count()) + "ms";
  if (result_.response_started)
    finish(true, why);
  else if (!request_body_.done())
    fail(408, why);
  else if (sent_once_)
    failUnanswered(504, why);  // it may have been processed: outcome unknown rules apply
  else
    fail(504, why);
}

void Exchange::clientClosed(bool error, const std::string& why) {
  if (finished_) return;
  result_.client_close = true;
  result_.client_gone = error;
  // A client that finished sending may half-close and still read the answer.
  if (!error && request_body_.done()) return;
  finish(true, "client: " + why);
}

void Exchange::fail(int status, const std::string& detail) {
  result_.status = status;
  finish(true, detail);
}

void Exchange::finish(bool error, const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  response_timer_.cancel();
  body_timer_.cancel();
  body_deadline_timer_.cancel();
  connector_.cancel();
  admission_.finished();
  result_.error = error;
  result_.detail = detail;
  result_.attempt_log = retry_.log();
  result_.attempts_header = context_.picker->upstream().retries.attempts_header;
#if FULCRUM_REQUEST_METRICS
  if (context_.metrics != nullptr) {
    context_.metrics->bytes_sent += result_.request_bytes;
    context_.metrics->bytes_received += result_.response_bytes;
  }
#endif
  // The request body must be complete too, or the server may still be
  // waiting for it: then neither connection can carry another request.
  bool clean = !error && request_body_.done();
  // The client connection can carry another request only if this one was
  // read to its end and no response is left half sent.
  if (!request_body_.done() || (error && result_.response_started)) result_.client_close = true;
  releaseServerConnection(clean && response_head_.framing != Framing::UntilClose &&
                          !response_head_.close);
  owner_.exchangeFinished(*this, result_);
}

void Exchange::releaseServerConnection(bool reusable) {
  if (!server_) return;
  // Output still queued (the end of a body) keeps going out in order, ahead
  // of whatever the next user of the connection sends.
  if (reusable && evbuffer_get_length(server_->input()) == 0) {
    serverDone();
    admission_.handOverConnection();
    context_.pool->give(result_.server->index, std::move(server_));
    // A request waiting for a connection may take this one.
    if (context_.waiters != nullptr && !context_.waiters->empty()) context_.waiters->wakeAll();
  } else {
    dropServerConnection();
  }
}

}  // namespace fulcrum::http
