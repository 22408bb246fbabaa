// What the idempotency ledger does with a request, given what its store
// answered, and what it does with a server's answer: the rules of
// draft-ietf-httpapi-idempotency-key-header, with Stripe's choices where
// the draft leaves one. Pure functions, no I/O, any thread.
#pragma once

#include <string>
#include <string_view>

#include "ledger/store.h"

namespace fulcrum::ledger {

enum class Verdict {
  Forward,      // the key is ours: send the request to a server
  InFlight,     // 409 + Retry-After: the first is still being answered
  Replay,       // the kept answer, with Idempotent-Replayed: true
  Mismatch,     // 422: the key was used for a different request
  NotKept,      // 409: the first answer was too large to keep
  UnknownHeld,  // 409 + X-Fulcrum-Outcome: unknown
  StoreError,   // on_store_error decides
};

Verdict judge(const ClaimResult& claim, std::string_view fingerprint);

// Answers that ask the client to try again (408, 425, 429, 502, 503, 504):
// the request did not take effect, so the key is released, not settled.
bool asksForRetry(int status);

// An Idempotency-Key field value: a token or a quoted string (an sf-string
// in the draft), 1-255 bytes. On success `key` is the value, quotes and
// escapes removed.
bool parseKey(std::string_view value, std::string& key);

}  // namespace fulcrum::ledger
