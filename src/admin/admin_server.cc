#include "admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string_view>
#include <vector>

#include "admin/gzip.h"
#include "admin/replies.h"
#include "admin/request_parts.h"
#include "admin/status_json.h"
#include "admin/status_page.h"
#include "core/errno_text.h"
#include "core/log.h"
#include "core/rate_limited_log.h"

namespace fulcrum::admin {
namespace {

constexpr int kBacklog = 64;
// Admin requests are small: a request line, a few headers, no body to speak of.
constexpr ev_ssize_t kMaxHeadersBytes = 16 * 1024;
constexpr ev_ssize_t kMaxBodyBytes = 16 * 1024;
// Idle keep-alive connections and stalled clients are closed after this.
constexpr int kTimeoutSeconds = 30;

// The page is self-contained: forbid everything but its own inline parts
// and its fetches of status.json.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

}  // namespace

// One request waiting for ProxyControl to call its `done` (collectMetrics,
// ledgerKey). `request` is null once answered or once the client is gone.
struct AdminServer::PendingReply {
  AdminServer* server = nullptr;
  evhttp_request* request = nullptr;
  evhttp_connection* connection = nullptr;
  bool gzip = false;
};

AdminServer::AdminServer(net::EventLoop& loop, ProxyControl& proxy, RefusalCounts& refusals,
                         size_t max_connections)
    : loop_(loop), proxy_(proxy), refusals_(refusals), max_connections_(max_connections) {}

AdminServer::~AdminServer() {
  // A request that libevent detached from its failed connection is ours to
  // free. The others go with their connections in evhttp_free(), whose close
  // callbacks drop their records.
  for (auto it = pending_.begin(); it != pending_.end();) {
    PendingReply& pending = *it->first;
    if (evhttp_request_get_connection(pending.request) == nullptr) {
      evhttp_request_free(pending.request);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  // evhttp_free frees the listener before the connections.
  if (cap_) cap_->detach();
  if (http_ != nullptr) evhttp_free(http_);
  pending_.clear();
}

bool AdminServer::listen(const SocketAddress& address, AccessPolicy policy, std::string& why) {
  if (http_ != nullptr) {
    why = "the admin listener already listens on " + bound_.toString();
    return false;
  }
  evconnlistener* listener =
      evconnlistener_new_bind(loop_.base(), nullptr, nullptr,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                              kBacklog, address.sockaddr_ptr(), static_cast<int>(address.length()));
  if (listener == nullptr) {
    why = "cannot listen on " + address.toString() + ": " + errnoText(errno);
    return false;
  }
  return serve(listener, std::move(policy), why);
}

bool AdminServer::listenOn(int fd, AccessPolicy policy, std::string& why) {
  if (http_ != nullptr) {
    ::close(fd);
    why = "the admin listener already listens on " + bound_.toString();
    return false;
  }
  // A negative backlog: the socket listens already, its queue is kept.
  evconnlistener* listener = evconnlistener_new(
      loop_.base(), nullptr, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (listener == nullptr) {
    ::close(fd);
    why = "cannot serve on the socket received: " + errnoText(errno);
    return false;
  }
  return serve(listener, std::move(policy), why);
}

bool AdminServer::serve(evconnlistener* listener, AccessPolicy policy, std::string& why) {
  evhttp* http = evhttp_new(loop_.base());
  if (http == nullptr) {
    evconnlistener_free(listener);
    why = "cannot create the admin HTTP server";
    return false;
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  evhttp_bound_socket* bound_socket = nullptr;
  if (getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&storage),
                  &length) != 0 ||
      (bound_socket = evhttp_bind_listener(http, listener)) == nullptr) {
    const int error = errno;
    evconnlistener_free(listener);
    evhttp_free(http);
    why = "cannot listen: " + errnoText(error);
    return false;
  }
  bound_ = SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
  bound_socket_ = bound_socket;
  cap_ = std::make_unique<ConnectionCap>(
      loop_, max_connections_,
      [this](evhttp_connection* connection) { connectionClosed(connection); });
  cap_->attach(http, listener);
  // Every method reaches handle(), so a wrong one gets our 405 with Allow.
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                       EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_max_headers_size(http, kMaxHeadersBytes);
  evhttp_set_max_body_size(http, kMaxBodyBytes);
  evhttp_set_timeout(http, kTimeoutSeconds);
  evhttp_set_gencb(http, &AdminServer::onRequest, this);
  http_ = http;
  policy_ = std::move(policy);
  return true;
}

int AdminServer::listeningFd() const {
  return bound_socket_ != nullptr ? evhttp_bound_socket_get_fd(bound_socket_) : -1;
}

void AdminServer::stopListening() {
  if (bound_socket_ == nullptr) return;
  if (cap_) cap_->detach();
  evhttp_del_accept_socket(http_, bound_socket_);
  bound_socket_ = nullptr;
}

void AdminServer::onRequest(evhttp_request* request, void* self) {
  static_cast<AdminServer*>(self)->handle(request);
}

void AdminServer::handle(evhttp_request* request) {
  std::optional<Authority> target;
  if (refused(request, checkHost(request, policy_, target))) return;
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* raw_path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  std::vector<std::string> segments;
  if (raw_path == nullptr || !decodePathSegments(raw_path, segments)) {
    replyError(request, 400, "Bad Request", "malformed request path");
    return;
  }
  const evhttp_cmd_type method = evhttp_request_get_command(request);

  struct Route {
    std::string_view path;
    void (AdminServer::*serve)(evhttp_request*);
    bool status;  // guarded by protect_status
  };
  static constexpr Route kReadRoutes[] = {
      {"metrics", &AdminServer::serveMetrics, false},
      {"healthz", &AdminServer::serveHealthz, false},
      {"status", &AdminServer::serveStatusPage, true},
      {"status.json", &AdminServer::serveStatusJson, true},
  };
  if (segments.size() == 1) {
    for (const Route& route : kReadRoutes) {
      if (segments[0] != route.path) continue;
      if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
        replyMethodNotAllowed(request, "GET, HEAD");
      else if (!route.status || !refused(request, checkStatusRead(request, policy_)))
        (this->*route.serve)(request);
      return;
    }
  }
  if (segments[0] == "api")
    serveApi(request, segments, target);
  else
    replyError(request, 404, "Not Found", "no such path");
}

bool AdminServer::refused(evhttp_request* request, const Verdict& verdict) {
  if (!verdict.refused()) return false;
  ++refusals_[static_cast<size_t>(*verdict.refusal)];
  static log::Limited limited;
  const char* uri = evhttp_request_get_uri(request);
  limited.warn("admin: refused %s from %s: %d %s", printable(uri != nullptr ? uri : "?").c_str(),
               peerOf(request).c_str(), verdict.code, printable(verdict.message).c_str());
  for (const char* challenge : verdict.challenges)
    evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate", challenge);
  replyError(request, verdict.code, verdict.reason, verdict.message);
  return true;
}

std::weak_ptr<AdminServer::PendingReply> AdminServer::defer(evhttp_request* request) {
  auto pending = std::make_shared<PendingReply>();
  pending->server = this;
  pending->request = request;
  // If the connection goes before `done` runs, libevent frees or detaches
  // the request: connectionClosed forgets it so `done` cannot touch it.
  pending->connection = evhttp_request_get_connection(request);
  if (pending->connection != nullptr) cap_->track(pending->connection);
  pending_.emplace(pending.get(), pending);
  return pending;
}

evhttp_request* AdminServer::takeRequest(PendingReply& pending) {
  evhttp_request* request = pending.request;
  if (request == nullptr) return nullptr;
  pending.request = nullptr;
  // The reply may close the connection at once: its close must not find
  // this record. (A detached request has no connection: evhttp_send_reply
  // just frees it.)
  pending.connection = nullptr;
  pending_.erase(&pending);
  return request;
}

void AdminServer::serveMetrics(evhttp_request* request) {
  std::weak_ptr<PendingReply> weak = defer(request);
  weak.lock()->gzip =
      acceptsGzip(evhttp_find_header(evhttp_request_get_input_headers(request), "Accept-Encoding"));
  proxy_.collectMetrics([weak](const std::string& text) {
    if (std::shared_ptr<PendingReply> alive = weak.lock())
      alive->server->finishMetrics(*alive, text);
  });
}

void AdminServer::connectionClosed(evhttp_connection* connection) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    PendingReply* pending = it->first;
    if (pending->connection != connection) continue;
    // Right after this callback libevent frees a request still attached to
    // the connection; one it detached (the client left before the answer)
    // is ours.
    if (pending->request != nullptr && evhttp_request_get_connection(pending->request) == nullptr)
      evhttp_request_free(pending->request);
    pending->request = nullptr;
    pending_.erase(it);  // frees `pending`
    return;
  }
}

void AdminServer::finishMetrics(PendingReply& pending, const std::string& text) {
  evhttp_request* request = takeRequest(pending);
  if (request == nullptr) return;
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Vary", "Accept-Encoding");
  std::string compressed;
  if (pending.gzip && gzipCompress(text, compressed)) {
    evhttp_add_header(headers, "Content-Encoding", "gzip");
    reply(request, 200, "OK", kMetricsType, compressed);
  } else {
    reply(request, 200, "OK", kMetricsType, text);
  }
}

void AdminServer::serveHealthz(evhttp_request* request) {
  if (proxy_.draining())
    reply(request, 503, "Service Unavailable", kTextType, "draining\n");
  else
    reply(request, 200, "OK", kTextType, "ok\n");
}

void AdminServer::serveStatusPage(evhttp_request* request) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Security-Policy",
                    kPagePolicy);
  reply(request, 200, "OK", kHtmlType, statusPage(proxy_.status()));
}

void AdminServer::serveStatusJson(evhttp_request* request) {
  reply(request, 200, "OK", kJsonType, statusJson(proxy_.status()));
}

void AdminServer::serveApi(evhttp_request* request, const std::vector<std::string>& segments,
                           const std::optional<Authority>& target) {
  // The whole API is off without a token, whatever the path or method, so
  // the answer always says how to turn it on.
  if (policy_.token.empty()) {
    refused(request, checkMutation(request, policy_, target));
    return;
  }
  if (segments.size() >= 3 && segments[1] == "idempotency") {
    serveLedgerKey(request, segments, target);
    return;
  }
  // /api/upstreams/NAME/servers/SERVER/(drain|enable)
  if (segments.size() != 6 || segments[1] != "upstreams" || segments[3] != "servers" ||
      (segments[5] != "drain" && segments[5] != "enable")) {
    replyError(request, 404, "Not Found", "no such path");
    return;
  }
  if (evhttp_request_get_command(request) != EVHTTP_REQ_POST) {
    replyMethodNotAllowed(request, "POST");
    return;
  }
  if (refused(request, checkMutation(request, policy_, target))) return;
  const std::string& upstream = segments[2];
  const std::string& server = segments[4];
  const bool drain = segments[5] == "drain";
  switch (proxy_.setAdminDrain(upstream, server, drain)) {
    case DrainResult::NoUpstream:
      replyError(request, 404, "Not Found", "no upstream " + quoted(upstream));
      return;
    case DrainResult::NoServer:
      replyError(request, 404, "Not Found",
                 "upstream " + quoted(upstream) + " has no server " + quoted(server));
      return;
    case DrainResult::Ok:
      break;
  }
  log::info("admin: %s server \"%s\" of upstream \"%s\" (from %s)", drain ? "drained" : "enabled",
            server.c_str(), upstream.c_str(), peerOf(request).c_str());
  std::string body = "{\"upstream\":";
  appendJsonString(body, upstream);
  body += ",\"server\":";
  appendJsonString(body, server);
  body += drain ? ",\"admin_drain\":true}" : ",\"admin_drain\":false}";
  reply(request, 200, "OK", kJsonType, body);
}

// GET /api/idempotency/KEY shows a key's entry; POST
// /api/idempotency/KEY/release removes it (an operator who looked an
// unknown outcome up frees its key). The scope value, if the route has a
// scope, comes in X-Idempotency-Scope.
void AdminServer::serveLedgerKey(evhttp_request* request, const std::vector<std::string>& segments,
                                 const std::optional<Authority>& target) {
  const bool release = segments.size() == 4 && segments[3] == "release";
  if (segments.size() != 3 && !release) {
    replyError(request, 404, "Not Found", "no such path");
    return;
  }
  const evhttp_cmd_type method = evhttp_request_get_command(request);
  if (release && method != EVHTTP_REQ_POST) {
    replyMethodNotAllowed(request, "POST");
    return;
  }
  if (!release && method != EVHTTP_REQ_GET) {
    replyMethodNotAllowed(request, "GET");
    return;
  }
  // Reading an entry needs the token as much as changing one: it tells
  // whether a payment was made.
  if (refused(request, checkMutation(request, policy_, target))) return;
  const char* scope =
      evhttp_find_header(evhttp_request_get_input_headers(request), "X-Idempotency-Scope");
  std::weak_ptr<PendingReply> weak = defer(request);
  proxy_.ledgerKey(segments[2], scope ? scope : "", release, [weak](LedgerKey found) {
    if (std::shared_ptr<PendingReply> alive = weak.lock())
      alive->server->finishLedgerKey(*alive, found);
  });
}

void AdminServer::finishLedgerKey(PendingReply& pending, const LedgerKey& found) {
  evhttp_request* request = takeRequest(pending);
  if (request == nullptr) return;
  switch (found.result) {
    case LedgerKey::Result::NoLedger:
      replyError(request, 404, "Not Found", "no route has an idempotency ledger");
      return;
    case LedgerKey::Result::StoreError:
      replyError(request, 503, "Service Unavailable",
                 "the idempotency store did not answer: " + found.error);
      return;
    case LedgerKey::Result::NotFound:
      replyError(request, 404, "Not Found", "no entry for this key");
      return;
    case LedgerKey::Result::Found:
      break;
  }
  if (found.released)
    log::info("admin: released an idempotency key (from %s)", peerOf(request).c_str());
  std::string body = "{\"state\":";
  appendJsonString(body, found.state);
  if (found.status != 0) body += ",\"status\":" + std::to_string(found.status);
  body += found.released ? ",\"released\":true}" : ",\"released\":false}";
  reply(request, 200, "OK", kJsonType, body);
}

}  // namespace fulcrum::admin
