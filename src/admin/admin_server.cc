#include "admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include "admin/gzip.h"
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

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";
constexpr const char* kHtmlType = "text/html; charset=utf-8";
constexpr const char* kJsonType = "application/json";
// The page is self-contained: forbid everything but its own inline parts
// and its fetches of status.json.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void reply(evhttp_request* request, int code, const char* reason, const char* content_type,
           std::string_view body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", content_type);
  evhttp_add_header(headers, "Cache-Control", "no-store");
  evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
  evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());
  evhttp_send_reply(request, code, reason, nullptr);
}

void replyError(evhttp_request* request, int code, const char* reason, std::string_view message) {
  reply(request, code, reason, kJsonType, jsonError(message));
}

void replyMethodNotAllowed(evhttp_request* request, const char* allow) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", allow);
  replyError(request, 405, "Method Not Allowed", std::string("method not allowed; use ") + allow);
}

std::string quoted(const std::string& text) {
  return "\"" + text + "\"";
}

std::string peerOf(evhttp_request* request) {
  evhttp_connection* connection = evhttp_request_get_connection(request);
  if (connection == nullptr) return "?";
  char* address = nullptr;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(connection, &address, &port);
  return std::string(address != nullptr ? address : "?") + ":" + std::to_string(port);
}

}  // namespace

// One /metrics request waiting for ProxyControl::collectMetrics to call `done`.
// `request` is null once answered or once the client is gone.
struct AdminServer::PendingMetrics {
  AdminServer* server = nullptr;
  evhttp_request* request = nullptr;
  evhttp_connection* connection = nullptr;
  bool gzip = false;
};

AdminServer::AdminServer(net::EventLoop& loop, ProxyControl& proxy, size_t max_connections)
    : loop_(loop), proxy_(proxy), max_connections_(max_connections) {}

AdminServer::~AdminServer() {
  // A request that libevent detached from its failed connection is ours to
  // free. The others go with their connections in evhttp_free(), whose close
  // callbacks drop their records.
  for (auto it = pending_.begin(); it != pending_.end();) {
    PendingMetrics& pending = *it->first;
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

bool AdminServer::listen(const SocketAddress& address, const std::string& token, std::string& why) {
  if (http_ != nullptr) {
    why = "the admin listener already listens on " + bound_.toString();
    return false;
  }
  evhttp* http = evhttp_new(loop_.base());
  if (http == nullptr) {
    why = "cannot create the admin HTTP server";
    return false;
  }
  evconnlistener* listener =
      evconnlistener_new_bind(loop_.base(), nullptr, nullptr,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                              kBacklog, address.sockaddr_ptr(), static_cast<int>(address.length()));
  if (listener == nullptr) {
    const int error = errno;
    evhttp_free(http);
    why = "cannot listen on " + address.toString() + ": " + errnoText(error);
    return false;
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&storage),
                  &length) != 0 ||
      evhttp_bind_listener(http, listener) == nullptr) {
    const int error = errno;
    evconnlistener_free(listener);
    evhttp_free(http);
    why = "cannot listen on " + address.toString() + ": " + errnoText(error);
    return false;
  }
  bound_ = SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
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
  token_ = token;
  return true;
}

void AdminServer::onRequest(evhttp_request* request, void* self) {
  static_cast<AdminServer*>(self)->handle(request);
}

void AdminServer::handle(evhttp_request* request) {
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
  };
  static constexpr Route kReadRoutes[] = {
      {"metrics", &AdminServer::serveMetrics},
      {"healthz", &AdminServer::serveHealthz},
      {"status", &AdminServer::serveStatusPage},
      {"status.json", &AdminServer::serveStatusJson},
  };
  if (segments.size() == 1) {
    for (const Route& route : kReadRoutes) {
      if (segments[0] != route.path) continue;
      if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
        replyMethodNotAllowed(request, "GET, HEAD");
      else
        (this->*route.serve)(request);
      return;
    }
  }

  // /api/upstreams/NAME/servers/SERVER/(drain|enable)
  if (segments.size() == 6 && segments[0] == "api" && segments[1] == "upstreams" &&
      segments[3] == "servers" && (segments[5] == "drain" || segments[5] == "enable")) {
    if (method != EVHTTP_REQ_POST) {
      replyMethodNotAllowed(request, "POST");
    } else if (!authorized(request)) {
      static log::Limited limited;
      limited.warn("admin: refused an /api call from %s: missing or wrong bearer token",
                   peerOf(request).c_str());
      evhttp_add_header(evhttp_request_get_output_headers(request), "WWW-Authenticate", "Bearer");
      replyError(request, 401, "Unauthorized", "missing or wrong bearer token");
    } else {
      serveApi(request, segments[2], segments[4], segments[5] == "drain");
    }
    return;
  }
  replyError(request, 404, "Not Found", "no such path");
}

bool AdminServer::authorized(evhttp_request* request) const {
  if (token_.empty()) return true;
  const char* authorization =
      evhttp_find_header(evhttp_request_get_input_headers(request), "Authorization");
  return bearerTokenMatches(authorization, token_);
}

void AdminServer::serveMetrics(evhttp_request* request) {
  auto pending = std::make_shared<PendingMetrics>();
  pending->server = this;
  pending->request = request;
  pending->gzip =
      acceptsGzip(evhttp_find_header(evhttp_request_get_input_headers(request), "Accept-Encoding"));
  // If the connection goes before `done` runs, libevent frees or detaches
  // the request: connectionClosed forgets it so `done` cannot touch it.
  pending->connection = evhttp_request_get_connection(request);
  if (pending->connection != nullptr) cap_->track(pending->connection);
  pending_.emplace(pending.get(), pending);
  std::weak_ptr<PendingMetrics> weak = pending;
  pending.reset();
  proxy_.collectMetrics([weak](const std::string& text) {
    if (std::shared_ptr<PendingMetrics> alive = weak.lock())
      alive->server->finishMetrics(*alive, text);
  });
}

void AdminServer::connectionClosed(evhttp_connection* connection) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    PendingMetrics* pending = it->first;
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

void AdminServer::finishMetrics(PendingMetrics& pending, const std::string& text) {
  evhttp_request* request = pending.request;
  if (request == nullptr) return;
  pending.request = nullptr;
  // The reply may close the connection at once: its close must not find
  // this record. (A detached request has no connection: evhttp_send_reply
  // just frees it.)
  pending.connection = nullptr;
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Vary", "Accept-Encoding");
  std::string compressed;
  if (pending.gzip && gzipCompress(text, compressed)) {
    evhttp_add_header(headers, "Content-Encoding", "gzip");
    reply(request, 200, "OK", kMetricsType, compressed);
  } else {
    reply(request, 200, "OK", kMetricsType, text);
  }
  pending_.erase(&pending);  // the caller still holds it
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

void AdminServer::serveApi(evhttp_request* request, const std::string& upstream,
                           const std::string& server, bool drain) {
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

}  // namespace fulcrum::admin
