// The money-safe retry rule (DESIGN.md section 7) as one pure function: may
// this failed attempt be tried again? No I/O, no clock; the exchange asks it
// after every failed attempt and the unit tests check every row of the table.
//
//   what failed                          idempotent  keyed POST  unkeyed POST
//   connect (nothing sent)               retry       retry       retry
//   sent, no response byte               retry       retry       never (502, outcome unknown)
//   server answered 502/503/504          retry       retry       never (its answer goes out)
//   response started (client has bytes) never       never       never
//
// Every retry also needs: the failure kind in `on`, an attempt left, a
// replayable body once something was sent, and the budget.
#pragma once

#include <cstdint>

namespace fulcrum::http {

enum class AttemptPhase : uint8_t {
  NotSent,          // connect failed: not one byte reached a server
  Sent,             // the request (or part of it) left; no response byte came
  Answered,         // the server answered 502/503/504; nothing went to the client
  ResponseStarted,  // response bytes went to the client
};

enum class AttemptFailure : uint8_t {
  ConnectFailure,
  Reset,    // the connection failed or closed before a response
  Timeout,  // no response within the (per-try) timeout
  Status502,
  Status503,
  Status504,
  StaleConnection,  // a reused keep-alive connection the server had closed
};

struct RetryRules {
  unsigned max_attempts = 2;
  unsigned on = 0;                   // config::RetryOn bits
  bool keyed_non_idempotent = true;  // non_idempotent: if_idempotency_key
};

struct RetryRequest {
  bool idempotent = false;       // GET HEAD OPTIONS PUT DELETE TRACE
  bool has_key = false;          // carries the idempotency header
  bool body_replayable = false;  // everything sent is still held
};

enum class RetryDecision : uint8_t {
  Retry,
  GiveUp,               // not retryable (response started, kind not in `on`, no attempt left)
  RefuseNonIdempotent,  // it may have been processed and repeating it is not safe
  RefuseBodyTooLarge,   // the body went out past retry_buffer: it cannot be replayed
  RefuseBudget,         // too many retries lately
};

// Whether a failed try used up one of `attempts` (and needs the budget to
// be tried again). A connect that failed sent nothing: it can neither
// double a payment nor load a sick server, so the request goes on to a
// server not tried yet, bounded by the upstream's servers and the request's
// own timeouts. The re-send after the keep-alive race (StaleConnection) is
// part of the try it repeats: the server never saw that request.
inline bool usesAttempt(AttemptFailure failure) {
  return failure != AttemptFailure::ConnectFailure && failure != AttemptFailure::StaleConnection;
}

// `attempts_made`: the tries that used an attempt (usesAttempt), the
// failed one included. `budget_allows`: whether the retry budget has room
// (asked only when everything else says yes, and only for a failure that
// uses an attempt).
RetryDecision decideRetry(const RetryRules& rules, AttemptPhase phase, AttemptFailure failure,
                          const RetryRequest& request, unsigned attempts_made, bool budget_allows);

// True when the request may be repeated once it was sent.
inline bool safeToRepeat(const RetryRules& rules, const RetryRequest& request) {
  return request.idempotent || (request.has_key && rules.keyed_non_idempotent);
}

// The `on` bit of a failure; StaleConnection is always eligible (0).
unsigned retryOnBit(AttemptFailure failure);
// For metrics and logs: "connect_failure", "reset", "timeout", "502", ...
const char* failureName(AttemptFailure failure);

}  // namespace fulcrum::http
