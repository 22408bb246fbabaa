#include "http/exchange.h"

#include <event2/buffer.h>

#include "core/local_errors.h"
#include "http/codec/head_writer.h"
#include "http/error_response.h"

namespace fulcrum::http {
Exchange::Exchange(const ExchangeContext& context, ExchangeOwner& owner, const RequestInfo& request,
                   evbuffer* request_head)
    : context_(context),
      owner_(owner),
      request_(request),
      pending_(net::newRecycledBuffer()),
      scratch_(net::newRecycledBuffer()),
      retry_(context.picker->upstream().retries,
             RetryRequest{request.idempotent, request.has_idempotency_key, true},
             context.retry_budget, context.metrics, context.random),
      retry_timer_(*context.loop,
                   [this] { retry_same_server_ ? reconnectSameServer() : connectNext(); }),
      connector_(*context.loop, *context.picker),
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
      request_body_(request.framing, requestBodyOut(request.framing), request.content_length,
                    *context.limits, request.max_body) {
  evbuffer_add_buffer(pending_.get(), request_head);
  head_length_ = evbuffer_get_length(pending_.get());
  connector_.setPreamble(request_.proxy_header);
}

Exchange::~Exchange() {
  endAttempt();
  // The log the result took (or the tracker still holds): its buffer
  // serves the next exchange's (retry_tracker.h).
  retry_.giveBackLog(std::move(result_.attempt_log));
}

void Exchange::beginAttempt(const upstream::Server& server, bool reused) {
  endAttempt();
  result_.server = &server;
  attempt_ = std::make_unique<UpstreamAttempt>(*context_.loop, *context_.picker, context_.reporter,
                                               server, reused, [this] { onResponseTimeout(); });
}

void Exchange::endAttempt() {
  if (!attempt_) return;
  if (attempt_->stream() != nullptr) admission_.connectionClosed();
  attempt_->retire();
  // Its timer or connection may be the callback on the stack.
  context_.loop->deferDelete(std::move(attempt_));
}

void Exchange::start() {
  // Body bytes that came with the head are checked before any server is
  // chosen: a malformed body that is already here never leaves the proxy.
  result_.request_bytes += request_body_.forward(context_.client->input(), pending_.get());
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
  if (context_.hooks != nullptr) {
    awaiting_decision_ = true;
    self_ = std::make_shared<Exchange*>(this);
    body_before_decision_ = context_.hooks->bodyBeforeDecision(request_);
    if (body_before_decision_ > 0) {
      collectBody();
      return;
    }
    context_.hooks->beforeForwarding(request_, ForwardDecision(self_));
    return;
  }
  admitAndConnect();
}

void Exchange::admitAndConnect() {
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
  const std::string& key = request_.proxy_header;
  auto pooled = retry_.safeToRepeat()
                    ? context_.pool->take(next->index, key)
                    : context_.pool->take(next->index, retry_.reuseSafeWindow(), key);
  if (pooled) {
    admission_.adoptPooledConnection();
    connector_.markTried(*next);
    ++result_.attempts;
    retry_.attemptStarted(next);
    beginAttempt(*next, /*reused=*/true);
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
  ++result_.attempts;
  retry_.attemptStarted(next);
  beginAttempt(*next, /*reused=*/false);
  connector_.connect(
      *next, [this](upstream::UpstreamConnectResult result) { onConnect(std::move(result)); });
}

void Exchange::onConnect(upstream::UpstreamConnectResult result) {
  // A failed connect holds no connection: its max_connections unit is free
  // now, for this request's next try or another request, not when this
  // exchange is finally deleted.
  if (!result.ok()) admission_.connectionClosed();
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
    connectFailed(result.detail, /*handed_over=*/false);
    return;
  }
  admission_.connected();
#if FULCRUM_REQUEST_METRICS
  if (context_.metrics != nullptr)
    ++context_.metrics->servers[result_.server->index].connections_opened;
#endif
  useConnection(std::move(result.stream));
}

void Exchange::connectFailed(const std::string& detail, bool handed_over) {
  attempt_->report(upstream::AttemptOutcome::ConnectFailure);
#if FULCRUM_REQUEST_METRICS
  if (context_.metrics != nullptr)
    ++context_.metrics->servers[result_.server->index].connect_failures;
#endif
  retry_.attemptEnded(AttemptPhase::NotSent, detail);
  // Bytes handed to the connection come back only from the replay buffer.
  const bool can_resend = !handed_over || retry_.replayable();
  if (can_resend && retry_.decide(AttemptPhase::NotSent, AttemptFailure::ConnectFailure) ==
                        RetryDecision::Retry) {
    // Nothing reached a server: the next one at once.
    if (handed_over)
      retryAfter(std::chrono::milliseconds(0), /*same_server=*/false);
    else
      connectNext();
  } else if (last_status_ != 0) {
    failUnanswered(last_status_, connector_.failures());  // an earlier attempt was sent
  } else {
    fail(503, connector_.failures());
  }
}

void Exchange::useConnection(std::unique_ptr<net::Stream> connection) {
  attempt_->attach(std::move(connection), *this);
  retry_.attemptConnected();
  net::Stream& stream = *attempt_->stream();
  result_.connected = attempt_->connected();
  stream.setLowWatermark(kHttpMaxBuffered / 2);
  stream.setSendTimeout(context_.upstream_send_timeout);
  stream.setReading(true);
  // The first attempt's bytes are kept (up to retry_buffer) for a replay; a
  // retry sends what was kept, which is already there.
  if (!sent_once_) retry_.keep(pending_.get());
  sent_once_ = true;
  evbuffer_add_buffer(stream.output(), pending_.get());
  pumpRequest();
  if (server() != nullptr) server()->flush();
  startResponseClock();
}

std::chrono::milliseconds Exchange::currentTimeout() const {
  // Until the response head, one attempt's own time (a retry may follow);
  // then the response timeout between reads of the body.
  const upstream::Upstream& upstream = context_.picker->upstream();
  return attempt_ && attempt_->body ? upstream.response_timeout : upstream.retries.per_try_timeout;
}

void Exchange::startResponseClock() {
  // The response timeout runs once the whole request is handed over: a slow
  // upload is the client's time, not the server's.
  if (finished_ || !request_body_.done() || !attempt_ || attempt_->body) return;
  if (!attempt_->responseTimer().armed()) attempt_->responseTimer().arm(currentTimeout());
}

void Exchange::clientReadable() {
  pumpRequest();
}

void Exchange::pumpRequest() {
  if (!finished_ && awaiting_decision_ && body_before_decision_ > 0) {
    collectBody();
    return;
  }
  if (finished_ || server() == nullptr) return;
  // Once the whole request is in, a client connection that closes after
  // this response has nothing more to send that anyone would read: it is
  // no longer watched (nor ever was, if the request came with the
  // connection), as HAProxy does without abortonclose. A kept one is read
  // on, for its next request and its close.
  if (request_body_.done()) {
    if (request_.client_close && context_.client->reading()) context_.client->setReading(false);
    return;
  }
  evbuffer* output = server()->output();
  size_t moved;
  if (retry_.replayable()) {
    moved = request_body_.forward(context_.client->input(), scratch_.get());
    retry_.keep(scratch_.get());
    evbuffer_add_buffer(output, scratch_.get());
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
  server()->flush();
  // Backpressure: stop reading the client while the server is behind (and
  // then the client is not on the clock either).
  bool full = evbuffer_get_length(output) >= kHttpMaxBuffered;
  readClientOnlyIfKept(full);
  if (request_body_.done()) body_deadline_timer_.cancel();
  if (request_body_.done() || full)
    body_timer_.cancel();
  else if (moved > 0 || !body_timer_.armed())
    body_timer_.arm(context_.client_body_timeout);
}

void Exchange::readClientOnlyIfKept(bool server_full) {
  const bool read = !server_full && !(request_body_.done() && request_.client_close);
  if (read != context_.client->reading()) context_.client->setReading(read);
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
  endAttempt();  // its connection, response and timer go with it
  evbuffer_drain(pending_.get(), evbuffer_get_length(pending_.get()));
  retry_.replayInto(pending_.get());
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
  beginAttempt(*result_.server, /*reused=*/false);
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
  if (attempt_) attempt_->responseTimer().cancel();
  body_timer_.cancel();
  body_deadline_timer_.cancel();
  connector_.cancel();
  admission_.finished();
  if (context_.hooks != nullptr && result_.response_started && !answered_locally_)
    context_.hooks->responseEnded(!error);
  result_.error = error;
  result_.detail = detail;
  result_.attempt_log = retry_.takeLog();
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
  // The client connection can carry another request only if the client
  // did not ask to close it (so a 5xx of the proxy's own closes it too),
  // this request was read to its end and no response is left half sent.
  if (request_.client_close || !request_body_.done() || (error && result_.response_started))
    result_.client_close = true;
  result_.request_read = request_body_.done();
  releaseServerConnection(clean && attempt_ && attempt_->head.framing != Framing::UntilClose &&
                          !attempt_->head.close);
  owner_.exchangeFinished(*this, result_);
}

void Exchange::releaseServerConnection(bool reusable) {
  // Output still queued (the end of a body) keeps going out in order, ahead
  // of whatever the next user of the connection sends.
  if (reusable && server() != nullptr && evbuffer_get_length(server()->input()) == 0) {
    const uint32_t index = attempt_->server().index;
    std::unique_ptr<net::Stream> connection = attempt_->release();
    admission_.handOverConnection();
    context_.pool->give(index, std::move(connection), request_.proxy_header);
    endAttempt();
    // A request waiting for a connection may take this one.
    if (context_.waiters != nullptr && !context_.waiters->empty()) context_.waiters->wakeAll();
  } else {
    endAttempt();
  }
}

}  // namespace fulcrum::http
