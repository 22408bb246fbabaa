// Which admin requests are served (global.admin: token, hosts,
// protect_status), decided from an evhttp request before any route runs:
//  - every request: its Host (or an absolute target's authority) must be
//    the listener's address, a loopback name or an admin.hosts entry, else
//    421; HTTP/1.1 without Host, two Hosts or a malformed one: 400. An
//    HTTP/1.0 request without Host is served: no browser sends one;
//  - /api (mutating calls): no token configured: 403, the API is off; an
//    Origin or Sec-Fetch-Site that is not same-origin: 403; no bearer
//    token or a wrong one: 401; a Content-Type other than
//    application/json: 415;
//  - /status and /status.json with protect_status: the token as a bearer
//    token or as the password of Basic credentials, else 401.
// Pure decisions on the request's fields and its connection's local
// address; the AdminServer sends the answer. Control loop only.
#pragma once

#include <event2/http.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "admin/request_origin.h"

namespace fulcrum::admin {

struct AccessPolicy {
  std::string token;               // empty: /api is disabled
  std::vector<std::string> hosts;  // HostName texts (core/host_name.h)
  bool protect_status = false;     // /status and /status.json need the token
};

// Why a request was refused; the label of fulcrum_admin_requests_refused_total.
enum class Refusal : uint8_t { Host, Disabled, CrossOrigin, Token, ContentType, Count };
const char* refusalLabel(Refusal refusal);
using RefusalCounts = std::array<uint64_t, static_cast<size_t>(Refusal::Count)>;

struct Verdict {
  std::optional<Refusal> refusal;  // none: go on
  int code = 0;
  const char* reason = "";
  std::string message;
  // 401: the challenges to offer (WWW-Authenticate fields).
  std::vector<const char*> challenges;

  bool refused() const { return refusal.has_value(); }
};

// The Host check. On success `target` is the authority the request was
// sent to (none for an HTTP/1.0 request without Host).
Verdict checkHost(evhttp_request* request, const AccessPolicy& policy,
                  std::optional<Authority>& target);

// A call of the /api; `target` as checkHost gave it.
Verdict checkMutation(evhttp_request* request, const AccessPolicy& policy,
                      const std::optional<Authority>& target);

// A read of /status or /status.json.
Verdict checkStatusRead(evhttp_request* request, const AccessPolicy& policy);

}  // namespace fulcrum::admin
