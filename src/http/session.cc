// The reading side of an HttpSession (session.h): request heads, routing
// and the start of each exchange; session_response.cc answers and closes.
#include "http/session.h"

#include <event2/buffer.h>

#include <cerrno>

#include "http/codec/head_writer.h"
#include "http/request_key.h"
#include "http/routes.h"

namespace fulcrum::http {
namespace {

bool isIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

std::string newRequestId(Random& random) {
  static const char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  uint64_t words[2] = {random.next(), random.next()};
  for (int i = 0; i < 32; ++i) id[i] = kHex[(words[i / 16] >> ((i % 16) * 4)) & 0xf];
  return id;
}

}  // namespace

HttpSession::HttpSession(HttpSessionParams params, std::unique_ptr<net::Stream> client,
                         SocketAddress client_address, DoneCallback on_done)
    : params_(std::move(params)),
      client_address_(client_address),
      client_ip_(client_address.hostToString()),
      on_done_(std::move(on_done)),
      client_(std::move(client)),
      header_timer_(*params_.loop,
                    [this] {
                      if (state_ != State::WaitingHead) return;
                      startUnparsedRequest();
                      answerError(408, "client_header timeout", true);
                    }),
      idle_timer_(*params_.loop,
                  [this] {
                    // Idle keep-alive connection, or the end of a lingering close.
                    if (state_ == State::WaitingHead || state_ == State::Closing) end();
                  }),
      request_timer_(*params_.loop, [this] {
        if (state_ == State::Exchanging && exchange_)
          exchange_->requestTimedOut(params_.listener->request_timeout);
      }) {}

HttpSession::~HttpSession() {
  exchange_.reset();  // it borrows client_
  if (client_) {
    client_->setHandler(nullptr);
    params_.loop->deferDelete(std::move(client_));
  }
}

void HttpSession::start() {
  client_->setHandler(this);
  client_->setLowWatermark(kHttpMaxBuffered / 2);
  client_->setSendTimeout(params_.listener->client_send_timeout);
  client_->setReading(true);
  header_timer_.arm(params_.listener->client_header_timeout);
}

void HttpSession::drain() {
  draining_ = true;
  // A response not yet started tells the client this connection closes.
  if (state_ == State::Exchanging && exchange_) exchange_->closeClientAfter();
  // Between requests with nothing received: nothing to finish.
  if (state_ == State::WaitingHead && evbuffer_get_length(client_->input()) == 0) closeGracefully();
}

void HttpSession::abandon() {
  if (state_ == State::Exchanging) logRequest(0, nullptr, 0, "shutdown");
}

void HttpSession::onReadable(net::Stream&) {
  switch (state_) {
    case State::WaitingHead:
      readHead();
      break;
    case State::Exchanging:
      exchange_->clientReadable();
      // Pipelined requests wait in the input, up to a bound.
      if (state_ == State::Exchanging && evbuffer_get_length(client_->input()) >= kHttpMaxBuffered)
        client_->setReading(false);
      break;
    case State::Closing: {
      evbuffer* input = client_->input();
      evbuffer_drain(input, evbuffer_get_length(input));
      break;
    }
    case State::Tunnel:
    case State::Done:
      break;
  }
}

void HttpSession::onDrained(net::Stream&) {
  switch (state_) {
    case State::Exchanging:
      exchange_->clientWritable();
      break;
    case State::WaitingHead:
      // Pipelined answers were waiting for the client to read.
      readHead();
      break;
    case State::Closing:
      closeGracefully();
      break;
    case State::Tunnel:
    case State::Done:
      break;
  }
}

void HttpSession::onClosed(net::Stream&, bool error, int code) {
  if (state_ == State::Exchanging) {
    exchange_->clientClosed(
        error, !error ? "closed the connection"
               : code == ETIMEDOUT
                   ? "took no byte of its response for " +
                         std::to_string(params_.listener->client_send_timeout.count()) + "ms"
                   : "connection error");
    return;
  }
  // A client that half-closed after pipelining still gets every answer
  // (and what is already queued for it) before we close.
  if (!error && state_ == State::WaitingHead) {
    peer_closed_ = true;
    if (evbuffer_get_length(client_->input()) > 0)
      readHead();
    else
      closeGracefully();
    return;
  }
  if (state_ != State::Done) end();
}

void HttpSession::readHead() {
  // Answers the proxy gives at once (404, 413...) call back in here through
  // afterResponse: loop instead of recursing, one head at a time.
  if (reading_heads_) {
    read_again_ = true;
    return;
  }
  reading_heads_ = true;
  do {
    read_again_ = false;
    readOneHead();
  } while (read_again_);
  reading_heads_ = false;
}

void HttpSession::readOneHead() {
  if (state_ != State::WaitingHead) return;
  evbuffer* input = client_->input();
  evbuffer* output = client_->output();
  // A client that pipelines without reading answers gets no more answers
  // (and we read no more) until it catches up.
  if (evbuffer_get_length(output) >= kHttpMaxBuffered) {
    client_->setReading(false);
    return;
  }
  client_->setReading(true);
  size_t available = evbuffer_get_length(input);
  if (available == 0) return;
  if (idle_timer_.armed()) {
    idle_timer_.cancel();
    header_timer_.arm(params_.listener->client_header_timeout);
  }
  const Limits& limits = params_.listener->limits;
  size_t length = std::min(available, limits.max_head_bytes + 1);
  auto* data = reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ssize_t>(length)));
  ParseError error;
  ParseResult parsed =
      head_scanner_.parseRequest(std::string_view(data, length), limits, head_, error);
  if (parsed == ParseResult::Incomplete) {
    if (peer_closed_) end();  // the rest of this head will never come
    return;
  }
  header_timer_.cancel();
  request_started_ = std::chrono::steady_clock::now();
  if (parsed == ParseResult::Error) {
    startUnparsedRequest();
    answerError(error.status, error.reason, true);
    return;
  }
  beginRequest();
}

void HttpSession::startUnparsedRequest() {
  // Answered before a head could be read: a fresh id, nothing else known.
  request_id_ = newRequestId(*params_.random);
  method_.clear();
  path_.clear();
  upstream_ = nullptr;
  request_started_ = std::chrono::steady_clock::now();
}

void HttpSession::switchGeneration() {
  if (params_.source == nullptr || params_.source->currentGeneration() == params_.generation_id)
    return;
  // The previous request's exchange may still wait for its deferred
  // delete: its generation stays alive until the next switch.
  std::shared_ptr<const net::Generation> previous = params_.generation;
  if (params_.source->refresh(params_)) {
    retired_generation_ = std::move(previous);
  } else {
    params_.generation_id = params_.source->currentGeneration();
    listener_gone_ = true;  // its listener was removed: close after this one
  }
}

void HttpSession::beginRequest() {
  switchGeneration();
  std::string_view client_id = clientRequestId(head_);
  request_id_ = client_id.empty() ? newRequestId(*params_.random) : std::string(client_id);
  if (params_.access_log != nullptr) {
    method_.assign(head_.method);
    path_.assign(head_.path);
  }
  evbuffer* input = client_->input();
  bool has_body = head_.framing != Framing::None;
  const Route* route = matchRoute(params_.listener->routes, head_.host, head_.path);
  upstream_ = route != nullptr ? route->upstream : nullptr;
  if (route == nullptr) {
    evbuffer_drain(input, head_.length);
    answerError(404, "no route", has_body || head_.close);
    return;
  }
  uint64_t max_body = params_.listener->max_body;
  if (max_body != 0 && head_.framing == Framing::ContentLength && head_.content_length > max_body) {
    evbuffer_drain(input, head_.length);
    answerError(413, "Content-Length over limits.body", true);
    return;
  }
  RequestInfo info;
  info.framing = head_.framing;
  info.content_length = head_.content_length;
  info.max_body = max_body;
  info.is_head = head_.is_head;
  info.expect_continue = head_.expect_continue;
  info.upgrade = head_.upgrade;
  info.client_close = head_.close || draining_ || peer_closed_ || listener_gone_;
  info.http10 = head_.minor_version == 0;
  if (upstream_->hash_key.kind != config::HashKey::Kind::None)
    info.hash = requestHashKey(upstream_->hash_key, head_, client_address_);
  info.idempotent = isIdempotent(head_.method);
  for (const Field& field : head_.fields)
    if (!field.value.empty() && equalsIgnoreCase(field.name, upstream_->retries.idempotency_header))
      info.has_idempotency_key = true;

  evbuffer* request_head = evbuffer_new();
  writeRequestHead(request_head, head_, ForwardedFor{client_ip_, "http", request_id_});
  evbuffer_drain(input, head_.length);  // the views in head_ die here

  size_t index = static_cast<size_t>(upstream_ - params_.built_upstreams->data());
  const UpstreamState& upstream = (*params_.upstreams)[index];
  ExchangeContext context{params_.loop,
                          client_.get(),
                          upstream.picker,
                          upstream.pool,
                          &params_.listener->limits,
                          params_.listener->client_body_timeout,
                          upstream.reporter,
                          upstream.waiters,
                          upstream.metrics,
                          upstream.retry_budget,
                          params_.random,
                          params_.listener->client_body_total_timeout,
                          params_.listener->upstream_send_timeout};
  ExchangeOwner& owner = *this;
  exchange_ = std::make_unique<Exchange>(context, owner, info, request_head);
  evbuffer_free(request_head);
  state_ = State::Exchanging;
  if (params_.listener->request_timeout.count() > 0)
    request_timer_.arm(params_.listener->request_timeout);
  exchange_->start();
}

}  // namespace fulcrum::http
