// The answering side of an HttpSession (session.h): fulcrum's own answers,
// the end of an exchange (answered, failed or upgraded to a tunnel), what
// comes after a response (the next request, or a lingering close), and the
// access log line of each request.
#include <event2/buffer.h>

#include "core/log.h"
#include "core/rate_limited_log.h"
#include "http/error_response.h"
#include "http/request_log.h"
#include "http/session.h"

namespace fulcrum::http {
namespace {

// After the last response, how long a closing connection keeps reading (and
// discarding) so the client's unread bytes do not turn our FIN into a reset
// that could destroy the response in flight.
constexpr std::chrono::milliseconds kLingerTime{2000};

}  // namespace

void HttpSession::answerError(int status, const std::string& detail, bool close, int retry_after,
                              const ExchangeResult* result) {
  ErrorResponse response;
  response.status = status;
  response.message = publicMessage(status);
  response.request_id = request_id_;
  response.close = close || draining_ || peer_closed_;
  response.retry_after_seconds = retry_after;
  if (result != nullptr) {
    response.outcome_unknown = result->outcome_unknown;
    if (result->attempts_header)
      response.attempts = static_cast<unsigned>(result->attempt_log.size());
  }
  size_t bytes = writeErrorResponse(client_->output(), response);
  client_->flush();
  logRequest(status, result, bytes, detail);
  afterResponse(response.close);
}

void HttpSession::exchangeFinished(Exchange& exchange, const ExchangeResult& result) {
  (void)exchange;
  request_timer_.cancel();
  params_.loop->deferDelete(std::move(exchange_));
  state_ = State::WaitingHead;
  if (!result.response_started && result.error && result.status != 0) {
    // Nothing went to the client yet: answer for the server.
    // A sick upstream answers every request so: a few lines, then a count
    // (each request is in the access log anyway).
    static log::Limited limited;
    if (result.status >= 500)
      limited.warn("listener %s: %d for request %s to upstream %s: %s",
                   params_.listener->name.c_str(), result.status, request_id_.c_str(),
                   upstream_->name.c_str(), result.detail.c_str());
    answerError(result.status, result.detail, result.client_close, result.status == 503 ? 1 : 0,
                &result);
    return;
  }
  // 499: the client went away before an answer could be sent.
  int status = result.response_started ? result.status : 499;
  logRequest(status, &result, result.response_bytes, result.detail);
  if (!result.response_started || result.client_gone) {
    end();
    return;
  }
  afterResponse(result.client_close || result.error);
}

void HttpSession::exchangeUpgraded(Exchange& exchange, const ExchangeResult& result,
                                   std::unique_ptr<net::Stream> server) {
  (void)exchange;
  logRequest(101, &result, result.response_bytes, "");
  params_.loop->deferDelete(std::move(exchange_));
  state_ = State::Tunnel;
  header_timer_.cancel();
  idle_timer_.cancel();
  request_timer_.cancel();
  // The tunnel owns both connections now.
  tunnel_ = std::make_unique<net::BytePump>(*params_.loop, std::move(client_), std::move(server),
                                            kHttpMaxBuffered, params_.listener->idle_timeout,
                                            [this](const net::BytePump::Result&) { end(); });
  tunnel_->start();
}

void HttpSession::afterResponse(bool close) {
  client_->flush();
  if (close || draining_ || peer_closed_) {
    closeGracefully();
    return;
  }
  state_ = State::WaitingHead;
  idle_timer_.arm(params_.listener->client_idle_timeout);
  if (evbuffer_get_length(client_->input()) > 0)
    readHead();  // a pipelined request
  else
    client_->setReading(true);
}

void HttpSession::closeGracefully() {
  if (state_ != State::Closing) {
    state_ = State::Closing;
    header_timer_.cancel();
    client_->setLowWatermark(0);
  }
  client_->flush();
  if (evbuffer_get_length(client_->output()) > 0) return;  // onDrained again
  client_->shutdownWrite();
  client_->setReading(true);  // read and discard until the client closes
  idle_timer_.arm(kLingerTime);
}

void HttpSession::end() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  header_timer_.cancel();
  idle_timer_.cancel();
  request_timer_.cancel();
  if (client_) client_->setReading(false);
  on_done_(*this);
}

void HttpSession::logRequest(int status, const ExchangeResult* result, uint64_t bytes_out,
                             const std::string& detail) {
#if FULCRUM_REQUEST_METRICS
  if (params_.listener_metrics != nullptr && status != 0) {
    size_t slot =
        upstream_ ? 1 + static_cast<size_t>(upstream_ - params_.built_upstreams->data()) : 0;
    params_.listener_metrics->requests[slot].add(static_cast<uint16_t>(status));
  }
#endif
  if (params_.access_log == nullptr) return;
  RequestLogEntry entry;
  entry.listener = params_.listener->name;
  std::string client = client_address_.toString();
  entry.client = client;
  entry.request_id = request_id_;
  entry.method = method_;
  entry.path = path_;
  entry.status = status;
  entry.bytes_in = result ? result->request_bytes : 0;
  entry.bytes_out = bytes_out;
  entry.upstream = upstream_ ? std::string_view(upstream_->name) : std::string_view();
  entry.exchange = result;
  entry.started = request_started_;
  entry.detail = detail;
  params_.access_log->write(formatRequestLog(entry));
}

}  // namespace fulcrum::http
