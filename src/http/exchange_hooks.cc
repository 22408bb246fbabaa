// The hook points of an Exchange (exchange_hooks.h): the end of the step
// before forwarding, the proxy's own answer, and the response body as the
// hooks see it.
#include "http/exchange_hooks.h"

#include <event2/buffer.h>

#include <vector>

#include "http/codec/head_writer.h"
#include "http/error_response.h"
#include "http/exchange.h"

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

void Exchange::answerLocally(LocalAnswer answer) {
  if (finished_ || !awaiting_decision_) return;
  awaiting_decision_ = false;
  answered_locally_ = true;
  ResponseHead head;
  head.status = answer.status;
  head.reason = reasonPhrase(answer.status);
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
  result_.response_head = std::chrono::steady_clock::now();
  result_.response_bytes += evbuffer_get_length(to_client) - before;
  context_.client->flush();
  finish(false, "answered by the proxy");
}

void Exchange::observeBody(evbuffer* to_client, size_t from) {
  const size_t length = evbuffer_get_length(to_client);
  if (length <= from) return;
  evbuffer_ptr start;
  evbuffer_ptr_set(to_client, &start, from, EVBUFFER_PTR_SET);
  const ev_ssize_t wanted = static_cast<ev_ssize_t>(length - from);
  const int pieces = evbuffer_peek(to_client, wanted, &start, nullptr, 0);
  if (pieces <= 0) return;
  std::vector<evbuffer_iovec> spans(static_cast<size_t>(pieces));
  evbuffer_peek(to_client, wanted, &start, spans.data(), pieces);
  size_t left = length - from;
  for (const evbuffer_iovec& span : spans) {
    const size_t take = std::min(left, span.iov_len);
    context_.hooks->responseBody(std::string_view(static_cast<const char*>(span.iov_base), take));
    left -= take;
  }
}

}  // namespace fulcrum::http
