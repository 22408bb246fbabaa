// An HttpSession's requests (session.h): each head is routed to its
// upstream, rewritten and handed to an Exchange; fulcrum's own answers (the
// errors it makes itself), the end of each exchange, and the access log
// line of each request.
#include <event2/buffer.h>

#include <cstring>

#include "core/hex.h"
#include "core/log.h"
#include "core/rate_limited_log.h"
#include "core/spares.h"
#include "http/codec/head_writer.h"
#include "http/codec/path_normalizer.h"
#include "http/error_response.h"
#include "http/idempotent_request.h"
#include "http/request_key.h"
#include "http/request_log.h"
#include "http/routes.h"
#include "http/session.h"
#include "ledger/verdict.h"
#include "net/turn_clock.h"

namespace fulcrum::http {
namespace {

// TRACE is idempotent by RFC 9110, but it echoes the request, credentials
// included: it is refused unless a route allows it, and never sent twice.
bool isIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE";
}

// The key and scope of a request on a ledger route. A key sent twice is
// invalid: two values cannot both name the request.
KeyedRequest findKey(const IdempotencySettings& settings, const RequestHead& head) {
  KeyedRequest keyed;
  int keys = 0;
  std::string_view value;
  for (const Field& field : head.fields) {
    if (equalsIgnoreCase(field.name, settings.header)) {
      ++keys;
      value = field.value;
    } else if (!settings.scope_header.empty() &&
               equalsIgnoreCase(field.name, settings.scope_header)) {
      keyed.scope.assign(field.value);
    }
  }
  if (keys == 0)
    keyed.key = KeyedRequest::Key::Missing;
  else if (keys == 1 && ledger::parseKey(value, keyed.value = core::Spares<std::string>::take()))
    keyed.key = KeyedRequest::Key::Valid;
  else
    keyed.key = KeyedRequest::Key::Invalid;
  keyed.method.assign(head.method);
  keyed.target.assign(head.path);
  keyed.framing = head.framing;
  keyed.http10 = head.minor_version == 0;
  return keyed;
}

// Written over `id` in place: the session's id string keeps its block from
// one request to the next.
void assignNewRequestId(Random& random, std::string& id) {
  id.resize(32);
  const uint64_t words[2] = {random.next(), random.next()};
  unsigned char bytes[sizeof(words)];
  std::memcpy(bytes, words, sizeof(words));
  writeHex(bytes, sizeof(bytes), id.data());
}

}  // namespace

void HttpSession::startUnparsedRequest() {
  // Answered before a head could be read: a fresh id, nothing else known.
  assignNewRequestId(*params_.random, request_id_);
  method_.clear();
  path_.clear();
  upstream_ = nullptr;
  request_started_ = net::TurnClock::now();
}

void HttpSession::beginRequest() {
  switchGeneration();
  // A trusted proxy's forwarding fields are kept; anyone else's are not.
  const bool trusted = params_.listener->trusted_proxies.contains(client_address_);
  std::string_view client_id = trusted || params_.listener->trust_client_request_id
                                   ? clientRequestId(head_)
                                   : std::string_view();
  if (client_id.empty())
    assignNewRequestId(*params_.random, request_id_);
  else
    request_id_.assign(client_id);
  if (params_.access_log != nullptr) {
    method_.assign(head_.method);
    path_.assign(head_.path);
  }
  evbuffer* input = client_->input();
  bool has_body = head_.framing != Framing::None;
  std::string_view canonical_path = head_.path;
  const PathVerdict verdict = normalizePath(head_.path, normalized_path_);
  if (verdict == PathVerdict::Normalized) canonical_path = normalized_path_;
  if (verdict == PathVerdict::Climbs || verdict == PathVerdict::BadPercent) {
    evbuffer_drain(input, head_.length);
    answerError(400,
                verdict == PathVerdict::Climbs ? "the path climbs above the root"
                                               : "a broken percent-encoding in the path",
                has_body || head_.close);
    return;
  }
  if (params_.listener->normalize_path) head_.path = canonical_path;
  const Route* route = matchRoute(params_.listener->routes, head_.host, canonical_path);
  upstream_ = route != nullptr ? route->upstream : nullptr;
  if (route == nullptr) {
    evbuffer_drain(input, head_.length);
    answerError(404, "no route", has_body || head_.close);
    return;
  }
  if (head_.method == "TRACE" && !route->allow_trace) {
    evbuffer_drain(input, head_.length);
    answerError(405, "TRACE is not allowed on this route", has_body || head_.close);
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
  if (route->idempotency && params_.ledger_store != nullptr &&
      route->idempotency->watches(head_.method))
    watchIdempotency(*route->idempotency);

  net::RecycledBuffer request_head = net::newRecycledBuffer();
  if (upstream_->proxy_protocol) info.proxy_header = proxyHeader(*upstream_->proxy_protocol);
  // Keyed or not is decided on the head the server gets, not on the one
  // the client sent: a key that did not reach the server makes no repeat safe.
  const char* scheme = params_.listener->terminates_tls ? "https" : "http";
  info.has_idempotency_key =
      writeRequestHead(request_head.get(), head_,
                       ForwardedFor{client_ip_, scheme, request_id_, trusted,
                                    params_.listener->verifies_client_certs, client_cert_},
                       upstream_->retries.idempotency_header);
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
                          params_.listener->upstream_send_timeout,
                          idempotent_ ? idempotent_.get() : params_.hooks};
  ExchangeOwner& owner = *this;
  exchange_ = std::make_unique<Exchange>(context, owner, info, request_head.get());
  state_ = State::Exchanging;
  if (params_.listener->request_timeout.count() > 0)
    request_timer_.arm(params_.listener->request_timeout);
  exchange_->start();
}

void HttpSession::watchIdempotency(const IdempotencySettings& settings) {
  KeyedRequest keyed = findKey(settings, head_);
  if (keyed.key == KeyedRequest::Key::Missing && !settings.require_key) {
    // Nothing for the ledger to guard: counted, and forwarded as it is.
    if (params_.listener_metrics != nullptr)
      ++params_.listener_metrics->idempotency[static_cast<size_t>(LedgerResult::MissingKey)];
    return;
  }
  keyed.request_id = core::Spares<std::string>::take();
  keyed.request_id.assign(request_id_);
  // Odd: a token is never 0, which no claim holds.
  idempotent_ = std::make_unique<IdempotentRequest>(
      settings, *params_.ledger_store, std::move(keyed), params_.listener_metrics,
      params_.ledger_timings, params_.random->next() | 1);
}

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
  endIdempotent(result);
  state_ = State::WaitingHead;
  // head_ is still the exchange's request: no head is read while one runs.
  client_done_ = head_.close && result.request_read;
  const ExchangeEnd end_as = result.end();
  if (end_as == ExchangeEnd::ProxyAnswers) {
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
  if (end_as == ExchangeEnd::ClientLost) {
    end();
    return;
  }
  afterResponse(result.client_close || result.error);
}

void HttpSession::endIdempotent(const ExchangeResult& result) {
  if (!idempotent_) return;
  idempotent_->exchangeEnded(result);
  // Its claim callback or hooks may be on the stack.
  params_.loop->deferDelete(std::move(idempotent_));
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
