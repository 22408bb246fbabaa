// Calling the admin listener of a running proxy as its users do: every
// request names the address it dialled in Host, and an /api call carries
// the bearer token and "Content-Type: application/json". Test configs
// that use the /api set global.admin.token to kAdminToken.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "support/http.h"

namespace fulcrum::test {

inline const std::string kAdminToken = "test-admin-token-0123456789";

// "Authorization: Bearer TOKEN" and "Content-Type: application/json", each
// ending in CRLF.
std::string adminApiFields(const std::string& token = kAdminToken);

// One request on its own connection ("Host: 127.0.0.1:PORT", then
// `extra_fields`, an empty body, "Connection: close"), and its response;
// nullopt when the connection or the answer failed. Fit for the admin
// listener and for any other.
std::optional<HttpMessage> callOnce(uint16_t port, const std::string& method,
                                    const std::string& path, const std::string& extra_fields = "");

// A POST to the /api as an operator's script sends it.
std::optional<HttpMessage> adminPost(uint16_t port, const std::string& path);

// A config for tests of the admin listener itself: one worker, a listener
// "web" and an upstream "pool" of two servers, pay-a and pay-b, that no
// traffic is sent to (only their admin drain flags change). `admin` is
// written inside global.admin, after "listen: LISTEN".
std::string adminTestConfig(const std::string& admin = "",
                            const std::string& listen = "127.0.0.1:0");

// `raw` (a whole request, as bytes) on its own connection, and the answer.
std::optional<HttpMessage> rawExchange(uint16_t port, const std::string& raw);

// Whether /status.json (asked with `extra_fields`) shows the server
// `server` of `upstream` drained by the admin API; nullopt when the answer
// is not a 200 or names no such server.
std::optional<bool> adminDrained(uint16_t port, const std::string& upstream,
                                 const std::string& server, const std::string& extra_fields = "");

// fulcrum_admin_requests_refused_total{reason=REASON} as /metrics shows it
// now; -1 when absent.
double adminRefusals(uint16_t port, const std::string& reason);

}  // namespace fulcrum::test
