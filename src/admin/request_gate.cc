#include "admin/request_gate.h"

#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <sys/socket.h>

#include <strings.h>

#include "admin/request_parts.h"

namespace fulcrum::admin {
namespace {

constexpr const char* kBearerChallenge = "Bearer";
constexpr const char* kBasicChallenge = "Basic realm=\"fulcrum admin\", charset=\"UTF-8\"";

Verdict refuse(Refusal refusal, int code, const char* reason, std::string message) {
  Verdict verdict;
  verdict.refusal = refusal;
  verdict.code = code;
  verdict.reason = reason;
  verdict.message = std::move(message);
  return verdict;
}

// Every value of a field (names are case-insensitive).
std::vector<const char*> fieldValues(evhttp_request* request, const char* name) {
  std::vector<const char*> values;
  const evkeyvalq* fields = evhttp_request_get_input_headers(request);
  for (const evkeyval* field = fields->tqh_first; field != nullptr; field = field->next.tqe_next)
    if (strcasecmp(field->key, name) == 0) values.push_back(field->value);
  return values;
}

const char* field(evhttp_request* request, const char* name) {
  return evhttp_find_header(evhttp_request_get_input_headers(request), name);
}

// The address the client dialled: on a wildcard listener, the one of its
// interfaces that took the connection. Empty when it cannot be told.
SocketAddress localAddress(evhttp_request* request) {
  evhttp_connection* connection = evhttp_request_get_connection(request);
  bufferevent* stream =
      connection != nullptr ? evhttp_connection_get_bufferevent(connection) : nullptr;
  if (stream == nullptr) return {};
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(bufferevent_getfd(stream), reinterpret_cast<sockaddr*>(&storage), &length) != 0)
    return {};
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

// An absolute-form target ("POST http://host:port/api/... HTTP/1.1")
// names the authority itself, and then overrides Host (RFC 9112, 3.2.2).
std::optional<std::string> targetAuthority(evhttp_request* request) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* host = uri != nullptr ? evhttp_uri_get_host(uri) : nullptr;
  if (host == nullptr) return std::nullopt;
  const int port = evhttp_uri_get_port(uri);
  return std::string(host) + (port >= 0 ? ":" + std::to_string(port) : "");
}

Verdict refuseToken(std::vector<const char*> challenges) {
  Verdict verdict = refuse(Refusal::Token, 401, "Unauthorized", "missing or wrong bearer token");
  verdict.challenges = std::move(challenges);
  return verdict;
}

}  // namespace

const char* refusalLabel(Refusal refusal) {
  switch (refusal) {
    case Refusal::Host:
      return "host";
    case Refusal::Disabled:
      return "disabled";
    case Refusal::CrossOrigin:
      return "cross_origin";
    case Refusal::Token:
      return "token";
    case Refusal::ContentType:
      return "content_type";
    case Refusal::Count:
      break;
  }
  return "?";
}

Verdict checkHost(evhttp_request* request, const AccessPolicy& policy,
                  std::optional<Authority>& target) {
  target.reset();
  const std::vector<const char*> hosts = fieldValues(request, "Host");
  if (hosts.size() > 1)
    return refuse(Refusal::Host, 400, "Bad Request", "more than one Host field");
  std::optional<std::string> text = targetAuthority(request);
  if (!text && hosts.size() == 1) text = hosts.front();
  if (!text) {
    if (request->major == 1 && request->minor == 0) return {};
    return refuse(Refusal::Host, 400, "Bad Request", "an HTTP/1.1 request needs a Host field");
  }
  target = parseAuthority(*text);
  if (!target) return refuse(Refusal::Host, 400, "Bad Request", "malformed Host \"" + *text + "\"");
  if (!hostAllowed(*target, localAddress(request), policy.hosts))
    return refuse(Refusal::Host, 421, "Misdirected Request",
                  "this admin listener does not answer to \"" + *text +
                      "\": use its address, or add the name to global.admin.hosts");
  return {};
}

Verdict checkMutation(evhttp_request* request, const AccessPolicy& policy,
                      const std::optional<Authority>& target) {
  if (policy.token.empty())
    return refuse(Refusal::Disabled, 403, "Forbidden",
                  "the admin API is disabled: set global.admin.token (16 to 256 characters) and "
                  "reload to enable it");
  const std::vector<const char*> origins = fieldValues(request, "Origin");
  if (!origins.empty()) {
    std::optional<Origin> origin =
        origins.size() == 1 ? parseOrigin(origins.front()) : std::nullopt;
    if (!origin || !target || !sameOrigin(*origin, *target))
      return refuse(
          Refusal::CrossOrigin, 403, "Forbidden",
          "a call from another origin (Origin: " + std::string(origins.front()) + ") is refused");
  }
  if (const char* site = field(request, "Sec-Fetch-Site");
      site != nullptr && !sameOriginFetch(site))
    return refuse(
        Refusal::CrossOrigin, 403, "Forbidden",
        "a call from another origin (Sec-Fetch-Site: " + std::string(site) + ") is refused");
  if (!bearerTokenMatches(field(request, "Authorization"), policy.token))
    return refuseToken({kBearerChallenge});
  const char* content_type = field(request, "Content-Type");
  if (content_type == nullptr || !isJsonMediaType(content_type))
    return refuse(Refusal::ContentType, 415, "Unsupported Media Type",
                  "an /api call needs Content-Type: application/json");
  return {};
}

Verdict checkStatusRead(evhttp_request* request, const AccessPolicy& policy) {
  if (!policy.protect_status) return {};
  const char* authorization = field(request, "Authorization");
  if (bearerTokenMatches(authorization, policy.token) ||
      basicPasswordMatches(authorization, policy.token))
    return {};
  return refuseToken({kBearerChallenge, kBasicChallenge});
}

}  // namespace fulcrum::admin
