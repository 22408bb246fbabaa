// The proxy's own responses (400, 404, 405, 408, 413, 414, 431, 501, 502,
// 503, 504):
// small, JSON, carrying the request id so a client can quote it.
#pragma once

#include <event2/buffer.h>

#include <string_view>

namespace fulcrum::http {

struct ErrorResponse {
  int status = 500;
  std::string_view message;     // human-readable; static text, no client input
  std::string_view request_id;  // may be empty (head too broken to have one)
  bool close = true;            // add "Connection: close"
  int retry_after_seconds = 0;  // > 0 adds Retry-After
  // The request may have been processed by a server that never answered:
  // "X-Fulcrum-Outcome: unknown" and "outcome":"unknown" tell a payment
  // client to look it up instead of repeating it.
  bool outcome_unknown = false;
  unsigned attempts = 0;  // > 0 adds X-Fulcrum-Attempts
};

// Appends the whole response (head and body) to `out`; returns its size.
size_t writeErrorResponse(evbuffer* out, const ErrorResponse& response);

const char* reasonPhrase(int status);
// What a client is told for one of the statuses above: generic text, the
// detail goes to the log only ("the request failed" for any other).
const char* publicMessage(int status);

}  // namespace fulcrum::http
