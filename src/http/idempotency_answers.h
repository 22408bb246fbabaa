// The answers the idempotency ledger makes: problem details (RFC 9457,
// application/problem+json) for a conflict, a mismatch, a missing key or
// a store that cannot answer, and the replay of a kept answer; and the
// copy of a server's answer head that a replay is made from.
#pragma once

#include <string_view>

#include "http/codec/parser.h"
#include "http/exchange_hooks.h"
#include "ledger/entry_codec.h"
#include "ledger/store.h"

namespace fulcrum::http {

// The problems a ledger answers with, each with its status and text.
enum class LedgerProblem {
  InFlight,        // 409 + Retry-After
  NotKept,         // 409
  UnknownOutcome,  // 409 + X-Fulcrum-Outcome: unknown
  Mismatch,        // 422
  MissingKey,      // 400
  InvalidKey,      // 400
  StoreError,      // 503 + Retry-After
};

// `header`: the idempotency header's name, quoted in the detail.
LocalAnswer problemAnswer(LedgerProblem problem, std::string_view header,
                          std::string_view request_id);

// The kept answer as it went to the first client, plus
// "Idempotent-Replayed: true".
LocalAnswer replayAnswer(const ledger::Answer& answer);

// Starts `out` with the status, reason and end-to-end fields of a server's
// final answer (not the framing, hop-by-hop or fulcrum's own fields, which
// the replay writes), for the claim `claim` of a request with `fingerprint`.
void startKeptAnswer(const ResponseHead& head, uint64_t claim, std::string_view fingerprint,
                     ledger::AnswerEncoder& out);

}  // namespace fulcrum::http
