// The hook points of an Exchange (exchange_hooks.h): the end of the step
// before forwarding, the proxy's own answer, and the response body as the
// hooks see it.
#include "http/exchange_hooks.h"

#include <event2/buffer.h>

#include <string>

#include "http/codec/head_writer.h"
#include "http/error_response.h"
#include "http/exchange.h"
#include "net/buffer.h"
#include "net/turn_clock.h"

namespace fulcrum::http {

void ForwardDecision::proceed() const {
  if (auto exchange = exchange_.lock()) (*exchange)->proceedForwarding();
}

void ForwardDecision::answer(LocalAnswer answer) const {
  if (auto exchange = exchange_.lock()) (*exchange)->answerLocally(std::move(answer));
}

void Exchange::proceedForwarding() {
  if (finished_ || !awaiting_decision_) return;
  awaiting_decision_ = false;
  admitAndConnect();
}

void Exchange::collectBody() {
  if (!request_body_.done()) {
    const size_t moved = request_body_.forward(context_.client->input(), pending_.get());
    result_.request_bytes += moved;
    if (request_body_.failed()) {
      fail(request_body_.overLimit() ? 413 : 400, request_body_.error());
      return;
    }
    if (evbuffer_get_length(pending_.get()) - head_length_ > body_before_decision_) {
      fail(413, "the request body is longer than " + std::to_string(body_before_decision_) +
                    " bytes, the most the idempotency ledger reads before forwarding");
      return;
    }
    if (!request_body_.done()) {
      if (moved > 0 || !body_timer_.armed()) body_timer_.arm(context_.client_body_timeout);
      return;
    }
  }
  body_timer_.cancel();
  body_deadline_timer_.cancel();
  body_before_decision_ = 0;  // from here the body is forwarded from pending_
  // The hooks see the body as the server will get it, from the buffer.
  net::forEachSpan(pending_.get(), head_length_,
                   [&](std::string_view bytes) { context_.hooks->requestBody(bytes); });
  context_.hooks->beforeForwarding(request_, ForwardDecision(self_));
}

void Exchange::answerLocally(LocalAnswer answer) {
  if (finished_ || !awaiting_decision_) return;
  awaiting_decision_ = false;
  answered_locally_ = true;
  ResponseHead head;
  head.status = answer.status;
  head.reason = answer.reason.empty() ? std::string_view(reasonPhrase(answer.status))
                                      : std::string_view(answer.reason);
  for (const auto& [name, value] : answer.headers) head.fields.push_back(Field{name, value});
  const std::string length = std::to_string(answer.body.size());
  head.fields.push_back(Field{"Content-Length", length});
  // A body the client is still sending will not be read: the connection
  // cannot carry another request after this answer.
  result_.client_close = request_.client_close || !request_body_.done();
  evbuffer* to_client = context_.client->output();
  const size_t before = evbuffer_get_length(to_client);
  writeResponseHead(to_client, head,
                    result_.client_close ? ClientConnection::Close
                    : request_.http10    ? ClientConnection::KeepAlive10
                                         : ClientConnection::KeepAlive11);
  if (!request_.is_head) evbuffer_add(to_client, answer.body.data(), answer.body.size());
  result_.status = answer.status;
  result_.response_started = true;
  result_.response_head = net::TurnClock::now();
  result_.response_bytes += evbuffer_get_length(to_client) - before;
  context_.client->flush();
  finish(false, "answered by the proxy");
}

void Exchange::observeBody(evbuffer* to_client, size_t from) {
  net::forEachSpan(to_client, from,
                   [&](std::string_view bytes) { context_.hooks->responseBody(bytes); });
}

}  // namespace fulcrum::http
