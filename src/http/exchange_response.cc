// The response side of an Exchange (exchange.h): reading the server's
// response heads (1xx, 101, a retryable 502/503/504 or the final answer),
// streaming the body to the client with backpressure, and the server
// closing or going quiet before it answered.
#include <event2/buffer.h>

#include <cerrno>

#include "http/codec/head_writer.h"
#include "http/exchange.h"
#include "net/turn_clock.h"

namespace fulcrum::http {
namespace {

// Servers are trusted more than clients, but a broken one must not make us
// buffer without bound either: the head's size is the upstream's
// limits.headers, its fields at most 256.
Limits responseLimits(const upstream::Upstream& upstream) {
  return Limits{8 * 1024, static_cast<size_t>(upstream.response_head_limit), 256, 1024};
}

}  // namespace

void Exchange::onReadable(net::Stream&) {
  if (finished_) return;
  // Until the final response head, per_try_timeout is a deadline that bytes
  // do not push back (a server trickling 1xx heads or header bytes gains no
  // time); from the head on, the response timeout is the longest silence.
  if (attempt_->body) attempt_->responseTimer().arm(currentTimeout());
  if (attempt_->body)
    pumpResponse();
  else
    readResponseHeads();
  if (!finished_ || result_.response_started) context_.client->flush();
}

void Exchange::readResponseHeads() {
  evbuffer* input = attempt_->stream()->input();
  evbuffer* to_client = context_.client->output();
  const Limits limits = responseLimits(context_.picker->upstream());
  ResponseHead& head = attempt_->head;
  while (!finished_ && !attempt_->body) {
    size_t available = evbuffer_get_length(input);
    if (available == 0) return;
    // One byte past the limit lets the parser see that the head is too
    // large (502 at once) instead of waiting for an end that never comes.
    size_t length = std::min(available, limits.max_head_bytes + 1);
    auto* data =
        reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ssize_t>(length)));
    ParseError error;
    ParseResult parsed = attempt_->scanner.parseResponse(std::string_view(data, length), limits,
                                                         request_.is_head, head, error);
    if (parsed == ParseResult::Incomplete) return;
    if (parsed == ParseResult::Error) {
      fail(502, std::string("bad response from the server: ") + error.reason);
      return;
    }
    int status = head.status;
    size_t before = evbuffer_get_length(to_client);
    if (status == 101) {
      if (!request_.upgrade) {
        fail(502, "the server switched protocols unasked");
        return;
      }
      writeResponseHead(to_client, head, ClientConnection::Upgrade);
      evbuffer_drain(input, head.length);
      result_.status = 101;
      result_.response_started = true;
      result_.response_bytes += evbuffer_get_length(to_client) - before;
      finished_ = true;
      // A tunnel is not a request in flight: the load count goes back.
      std::unique_ptr<net::Stream> tunnel = attempt_->release();
      owner_.exchangeUpgraded(*this, result_, std::move(tunnel));
      return;
    }
    if (status < 200) {
      if (++interim_responses_ > context_.picker->upstream().max_interim_responses) {
        fail(502, "the server sent more than " +
                      std::to_string(context_.picker->upstream().max_interim_responses) +
                      " interim (1xx) responses");
        return;
      }
      // 100 goes only to a client that asked for it; other 1xx are passed
      // on, except to HTTP/1.0 clients, which cannot take them.
      if (!request_.http10 && (status != 100 || request_.expect_continue))
        writeResponseHead(to_client, head, ClientConnection::KeepAlive11);
      evbuffer_drain(input, head.length);
      result_.response_bytes += evbuffer_get_length(to_client) - before;
      continue;
    }
    if (status >= 502 && status <= 504) {
      // The server's own 502/503/504, not yet forwarded: another server may
      // do better, if repeating the request is safe.
      const AttemptFailure failure = status == 502   ? AttemptFailure::Status502
                                     : status == 503 ? AttemptFailure::Status503
                                                     : AttemptFailure::Status504;
      retry_.attemptEnded(AttemptPhase::Answered, std::to_string(status));
      attempt_->report(upstream::AttemptOutcome::Response, static_cast<uint16_t>(status));
      if (retry_.decide(AttemptPhase::Answered, failure) == RetryDecision::Retry) {
        last_status_ = status;
        last_detail_ = "the server answered " + std::to_string(status);
        retryAfter(retry_.backoff(failure), false);
        return;
      }
    } else {
      retry_.attemptEnded(AttemptPhase::ResponseStarted, std::to_string(status));
    }
    // The body bytes that came with the head are judged before the head
    // goes out: a server's broken chunked framing is a 502 while it can be.
    const BodyOut body_out = responseBodyOut(head, request_.http10);
    auto body =
        std::make_unique<BodyForwarder>(head.framing, body_out, head.content_length, limits);
    if (const char* why = nullptr; !body->checkAhead(input, head.length, why)) {
      fail(502, std::string("bad response body from the server: ") + why);
      return;
    }
    result_.status = status;
    result_.response_started = true;
    result_.response_head = net::TurnClock::now();
    if (status < 502 || status > 504)
      attempt_->report(upstream::AttemptOutcome::Response, static_cast<uint16_t>(status));
#if FULCRUM_REQUEST_METRICS
    if (context_.metrics != nullptr) {
      metrics::ServerCounters& counters = context_.metrics->servers[result_.server->index];
      counters.responses.add(static_cast<uint16_t>(status));
      counters.response_time.observe(
          std::chrono::duration<double>(result_.response_head - result_.connected).count());
    }
#endif
    // least_time learns from the time to the response head.
    context_.picker->load().observeLatency(result_.server->index,
                                           std::chrono::duration_cast<std::chrono::microseconds>(
                                               result_.response_head - result_.connected),
                                           result_.response_head);
    if (context_.hooks != nullptr) context_.hooks->responseHead(head);
    // A body that ends at close can only be delimited by closing the client too.
    result_.client_close = request_.client_close || body_out == BodyOut::UntilClose;
    writeResponseHead(to_client, head,
                      result_.client_close ? ClientConnection::Close
                      : request_.http10    ? ClientConnection::KeepAlive10
                                           : ClientConnection::KeepAlive11,
                      context_.picker->upstream().retries.attempts_header ? retry_.attempts() : 0,
                      body_out);
    evbuffer_drain(input, head.length);
    result_.response_bytes += evbuffer_get_length(to_client) - before;
    attempt_->body = std::move(body);
    attempt_->responseTimer().arm(currentTimeout());  // now the silence between body reads
    pumpResponse();
  }
}

void Exchange::pumpResponse() {
  if (finished_ || response_done_) return;
  evbuffer* to_client = context_.client->output();
  BodyForwarder& body = *attempt_->body;
  const size_t before = evbuffer_get_length(to_client);
  result_.response_bytes += body.forward(attempt_->stream()->input(), to_client);
  if (context_.hooks != nullptr) observeBody(to_client, before);
  if (body.failed()) {
    finish(true, std::string("bad response body from the server: ") + body.error());
    return;
  }
  if (body.done()) {
    if (request_body_.done()) {
      finish(false, "");
      return;
    }
    // The server answered before the request body was all through (it may
    // be discarding it): keep forwarding it so both connections stay
    // usable, but not for longer than the response timeout.
    response_done_ = true;
    attempt_->responseTimer().arm(currentTimeout());
    return;
  }
  bool full = evbuffer_get_length(to_client) >= kHttpMaxBuffered;
  if (full != attempt_->paused) {
    attempt_->paused = full;
    // While the client is the slow one, the server is not on the clock.
    attempt_->stream()->setReading(!full);
    if (full)
      attempt_->responseTimer().cancel();
    else
      attempt_->responseTimer().arm(currentTimeout());
  }
}

void Exchange::clientWritable() {
  if (!finished_ && attempt_ && attempt_->body) {
    pumpResponse();
    context_.client->flush();
  }
}

void Exchange::onClosed(net::Stream& stream, bool error, int code) {
  if (finished_) return;
  if (error && code == ETIMEDOUT && !attempt_->body) {
    // The server took no byte of the request for upstream_send: a failed
    // attempt like a response timeout (retried only where that is safe).
    attempt_->report(upstream::AttemptOutcome::Timeout);
    attemptFailed(AttemptPhase::Sent, AttemptFailure::Timeout, 504,
                  "the server took no byte of the request for " +
                      std::to_string(context_.upstream_send_timeout.count()) + "ms");
    return;
  }
  if (error && !attempt_->body && stream.transport().refusedHandshake()) {
    // TLS 1.3: the server refused our certificate after our side of the
    // handshake had ended; it processed nothing of the request.
    const std::string detail = "handshake failed: " + stream.transport().failureReason();
    connector_.noteFailure(*result_.server, detail);
    connectFailed(detail, /*handed_over=*/true);
    return;
  }
  std::string why = error ? "connection to the server failed" : "the server closed the connection";
  if (attempt_->body) {
    pumpResponse();  // what was read before the close
    if (finished_) return;
    evbuffer* to_client = context_.client->output();
    const size_t before = evbuffer_get_length(to_client);
    attempt_->body->inputClosed(to_client);  // the last chunk, when fulcrum chunks it
    result_.response_bytes += evbuffer_get_length(to_client) - before;
    if (context_.hooks != nullptr) observeBody(to_client, before);
    if (attempt_->body->done())
      finish(false, "");
    else
      finish(true, why + " in the middle of the response body");
    return;
  }
  // A reused connection the server closed is the keep-alive race, not a
  // sign that the server is failing; it is retried on the same server.
  const bool reused = attempt_->reused();
  if (!reused) attempt_->report(upstream::AttemptOutcome::Reset);
  attemptFailed(AttemptPhase::Sent,
                reused ? AttemptFailure::StaleConnection : AttemptFailure::Reset, 502,
                why + (reused ? " (a reused connection) before responding" : " before responding"));
}

void Exchange::onResponseTimeout() {
  if (finished_) return;
  std::string why =
      "no response from the server within " + std::to_string(currentTimeout().count()) + "ms";
  if (response_done_)
    finish(true, "the client did not finish its request body in time");
  else if (result_.response_started)
    finish(true, why);
  else {
    attempt_->report(upstream::AttemptOutcome::Timeout);
    attemptFailed(AttemptPhase::Sent, AttemptFailure::Timeout, 504, why);
  }
}

}  // namespace fulcrum::http
