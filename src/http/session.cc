// An HttpSession's connection (session.h): the read loop over request
// heads, keep-alive and pipelining, the switch to a new configuration
// generation, drain, the tunnel after a 101, and the closing of the
// connection. Routing a request and answering it are session_dispatch.cc.
#include "http/session.h"

#include <event2/buffer.h>

#include <algorithm>
#include <cerrno>

#include "net/turn_clock.h"
#include "tls/client_cert.h"

namespace fulcrum::http {
namespace {

// After the last response, how long a closing connection keeps reading (and
// discarding) so the client's unread bytes do not turn our FIN into a reset
// that could destroy the response in flight.
constexpr std::chrono::milliseconds kLingerTime{2000};

}  // namespace

HttpSession::HttpSession(HttpSessionParams params, std::unique_ptr<net::Stream> client,
                         const net::ClientAddresses& addresses, DoneCallback on_done)
    : params_(std::move(params)),
      client_address_(addresses.client),
      local_address_(addresses.local),
      client_is_peer_(addresses.client == addresses.peer),
      client_ip_(addresses.client.hostToString()),
      on_done_(std::move(on_done)),
      client_(std::move(client)),
      client_cert_(params_.listener->verifies_client_certs
                       ? tls::forwardedClientCert(client_->transport())
                       : std::string()),
      client_timer_(*params_.loop, [this] { clientTimedOut(); }),
      request_timer_(*params_.loop, [this] {
        if (state_ == State::Exchanging && exchange_)
          exchange_->requestTimedOut(params_.listener->request_timeout);
      }) {
  answered_ = params_.resumed;
}

HttpSession::~HttpSession() {
  endIdleWait();
  exchange_.reset();  // it borrows client_
  if (client_) {
    client_->setHandler(nullptr);
    params_.loop->deferDelete(std::move(client_));
  }
  // Server connections that carry this client's PROXY header are of no use
  // to anyone else.
  for (const std::string& header : proxy_headers_)
    if (!header.empty())
      for (const UpstreamState& upstream : *params_.upstreams) upstream.pool->closeKeyed(header);
}

const std::string& HttpSession::proxyHeader(net::ProxyVersion version) {
  std::string& header = proxy_headers_[static_cast<size_t>(version) - 1];
  if (header.empty()) header = net::encodeProxyHeader(version, client_address_, local_address_);
  return header;
}

void HttpSession::start() {
  client_->setHandler(this);
  client_->setLowWatermark(kHttpMaxBuffered / 2);
  client_->setSendTimeout(params_.listener->client_send_timeout);
  client_->setReading(true);
  client_timer_.arm(params_.listener->client_header_timeout);
  // A request that came with the PROXY header is here already. So are the
  // first bytes of a connection the kernel handed over once they came
  // (defer_accept), and of a parked one that woke: they are read before
  // the socket is watched, and a request that closes its connection is
  // answered without the socket ever being watched (no epoll_ctl).
  if (evbuffer_get_length(client_->input()) > 0)
    readHead();
  else if (params_.resumed || (params_.listener->defer_accept && !params_.listener->terminates_tls))
    client_->readWhatIsThere();
}

void HttpSession::closeAfterResponse() {
  draining_ = true;
  // A response not yet started tells the client this connection closes.
  if (state_ == State::Exchanging && exchange_) exchange_->closeClientAfter();
}

void HttpSession::drain() {
  closeAfterResponse();
  // Between requests with nothing received: nothing to finish. Not before
  // the first one: a connection accepted a moment ago has its request on
  // the way, and no client retries a request on a fresh connection that
  // closed (they do on a kept-alive one). It gets client_header_timeout.
  if (state_ == State::WaitingHead && answered_ && evbuffer_get_length(client_->input()) == 0)
    closeGracefully();
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
  if (waiting_for_ == Wait::Idle) {
    waiting_for_ = Wait::Head;
    endIdleWait();
    client_timer_.arm(params_.listener->client_header_timeout);
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
  client_timer_.cancel();
  request_started_ = net::TurnClock::now();
  if (parsed == ParseResult::Error) {
    startUnparsedRequest();
    answerError(error.status, error.reason, true);
    return;
  }
  beginRequest();
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

void HttpSession::exchangeUpgraded(Exchange& exchange, const ExchangeResult& result,
                                   std::unique_ptr<net::Stream> server) {
  (void)exchange;
  logRequest(101, &result, result.response_bytes, "");
  params_.loop->deferDelete(std::move(exchange_));
  endIdempotent(result);
  state_ = State::Tunnel;
  client_timer_.cancel();
  request_timer_.cancel();
  // The tunnel owns both connections now.
  tunnel_ = std::make_unique<net::BytePump>(*params_.loop, std::move(client_), std::move(server),
                                            kHttpMaxBuffered, params_.listener->idle_timeout,
                                            [this](const net::BytePump::Result&) { end(); });
  tunnel_->start();
}

void HttpSession::afterResponse(bool close) {
  answered_ = true;
  client_->flush();
  if (close || draining_ || peer_closed_) {
    closeGracefully();
    return;
  }
  state_ = State::WaitingHead;
  idle_since_ = net::TurnClock::now();
  const std::chrono::milliseconds idle = params_.listener->client_idle_timeout;
  waiting_for_ = Wait::Idle;
  client_timer_.arm(std::min(idle, startIdleWait()));
  if (evbuffer_get_length(client_->input()) > 0)
    readHead();  // a pipelined request
  else
    client_->setReading(true);
}

std::chrono::milliseconds HttpSession::startIdleWait() {
  if (params_.idle_waits == nullptr) return std::chrono::milliseconds::max();
  if (counted_as_waiting_) return kParkDelay;
  counted_as_waiting_ = true;
  return params_.idle_waits->started();
}

void HttpSession::endIdleWait() {
  if (!counted_as_waiting_) return;
  counted_as_waiting_ = false;
  params_.idle_waits->ended();
}

void HttpSession::closeGracefully() {
  endIdleWait();
  if (state_ != State::Closing) {
    state_ = State::Closing;
    // No 408 now; an idle wait under way ends the close when it fires.
    if (waiting_for_ == Wait::Head) client_timer_.cancel();
    waiting_for_ = Wait::Idle;
    client_->setLowWatermark(0);
  }
  client_->flush();
  if (evbuffer_get_length(client_->output()) > 0) return;  // onDrained again
  if (client_done_ && evbuffer_get_length(client_->input()) == 0) {
    // The kernel sends what it holds, then the FIN; nothing unread can
    // turn the close into a reset.
    client_->beforeClose();
    end();
    return;
  }
  client_->shutdownWrite();
  client_->setReading(true);  // read and discard until the client closes
  client_timer_.arm(kLingerTime);
}

void HttpSession::clientTimedOut() {
  if (state_ == State::Closing) {
    end();  // the end of a lingering close
    return;
  }
  if (state_ != State::WaitingHead) return;
  if (waiting_for_ == Wait::Idle) {
    idleTimedOut();
    return;
  }
  startUnparsedRequest();
  answerError(408, "client_header timeout", true);
}

void HttpSession::idleTimedOut() {
  const auto idle = net::TurnClock::now() - idle_since_;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(params_.listener->client_idle_timeout - idle);
  if (left.count() <= 0) {
    end();  // an idle keep-alive connection
    return;
  }
  if (!park()) client_timer_.arm(left);
}

bool HttpSession::park() {
  // A session that made a PROXY header holds server connections of its
  // own (keyed by it): parking would close them, and the next request
  // would pay for a new one.
  const bool holds_server_connections = !proxy_headers_[0].empty() || !proxy_headers_[1].empty();
  if (params_.parking == nullptr || !answered_ || draining_ || peer_closed_ || listener_gone_ ||
      exchange_ || tunnel_ || reading_heads_ || holds_server_connections ||
      !params_.parking->canPark(client_address_, local_address_))
    return false;
  const int fd = client_->releaseIdleSocket();
  if (fd < 0) return false;
  params_.parking->park(ParkedHttp{fd, &client_address_, &local_address_, client_is_peer_,
                                   params_.generation, params_.generation_id,
                                   params_.listener_index, idle_since_,
                                   params_.listener->client_idle_timeout});
  end();
  return true;
}

void HttpSession::end() {
  endIdleWait();
  if (state_ == State::Done) return;
  state_ = State::Done;
  client_timer_.cancel();
  request_timer_.cancel();
  if (client_) client_->setReading(false);
  on_done_(*this);
}

}  // namespace fulcrum::http
