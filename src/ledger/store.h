// Where the idempotency ledger keeps its entries (DESIGN.md section 12):
// one entry per storage key (fingerprint.h), claimed by the first request
// that carries the key, then settled with the final answer, marked as not
// kept or of unknown outcome, or released.
//
// A Store is shared by every worker of the process (the memory store) or
// reached from each worker's loop (a networked store). claim() answers
// and inspect() answer through their callback, on the caller's thread,
// exactly once; the memory store answers before they return. The other calls answer nothing:
// their failures are the store's to count. The caller keeps the Store
// alive for as long as it may call it (routes hold it by shared_ptr).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/store_timings.h"

namespace fulcrum::ledger {

// A server's final answer, as the client got it: status line, end-to-end
// header fields in order, and the whole body (its framing removed).
struct Answer {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

enum class EntryState : uint8_t {
  InFlight,  // claimed; no final answer yet
  Done,      // the final answer is kept
  NotKept,   // the request was answered, but the answer was too large to keep
  Unknown,   // sent, no answer: the outcome is unknown (on_unknown_outcome: hold)
};

struct Entry {
  EntryState state = EntryState::InFlight;
  std::string fingerprint;  // of the request the entry answers (fingerprint.h)
  uint64_t claim = 0;       // the claim's token: only its holder settles it
  Answer answer;            // when Done
};

// What settle() keeps: the entry's encoding (entry_codec.h), made by the
// caller, and the two fields the store checks without decoding it.
struct Settlement {
  uint64_t claim = 0;  // the token that must still hold the key
  EntryState state = EntryState::Done;
  std::string bytes;   // the whole entry, encoded
  uint64_t place = 0;  // the claim's ClaimResult::place
};

enum class ClaimStatus {
  Claimed,     // the caller holds the key now
  Exists,      // someone holds it, or its entry is settled: see `entry`
  StoreError,  // the store could not answer (down, timed out, full)
};

// What inspect() found (the operator's view of one key).
struct Inspection {
  enum class Result { Found, NotFound, StoreError } result = Result::StoreError;
  Entry entry;  // when Found
  bool released = false;
  std::string error;  // when StoreError, for the answer
};

struct ClaimResult {
  ClaimStatus status = ClaimStatus::StoreError;
  Entry entry;        // when Exists
  std::string error;  // when StoreError, for the log
  // When Claimed: where the store keeps the claim, handed back with the
  // settlement so that the store need not look the key up again (the
  // memory store: its slot); 0 when the store has no such place.
  uint64_t place = 0;
};

class Store {
 public:
  using ClaimDone = std::function<void(ClaimResult)>;
  using InspectDone = std::function<void(Inspection)>;
  virtual ~Store() = default;

  // Claims `key` for a request with `fingerprint`, under the token
  // `claim` (random, non-zero). An in-flight claim older than
  // `in_flight_timeout` is abandoned (its instance died) and may be taken.
  virtual void claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
                     std::chrono::milliseconds in_flight_timeout, ClaimDone done) = 0;
  // A claim of `key` will follow once the request's body is read: a store
  // may start fetching what that claim will read. Any thread; a hint only.
  virtual void expectClaim(std::string_view /*key*/) {}
  // Settles the entry `key` holds under token `settlement.claim` (Done,
  // NotKept or Unknown) for `ttl`; nothing when someone else holds it now.
  // settle() and release() add how long the store took to `timings` (the
  // caller's worker's, or null) once it answered, on the caller's thread.
  virtual void settle(const std::string& key, Settlement settlement, std::chrono::milliseconds ttl,
                      StoreTimings* timings) = 0;
  // Frees `key` if token `claim` still holds it: the next request with it
  // goes to a server.
  virtual void release(const std::string& key, uint64_t claim, StoreTimings* timings) = 0;
  // The entry `key` holds now; with `release`, the entry is removed too,
  // whatever holds it (the operator's release): the next request with the
  // key goes to a server. Fails, as a claim would, when the store cannot
  // answer within its timeout.
  virtual void inspect(const std::string& key, bool release, InspectDone done) = 0;
  // Entries held now; -1 when the store cannot say cheaply.
  virtual int64_t entries() const = 0;
  // True when claim() calls `done` before it returns, always: a caller
  // may then hand it what lives on its own stack.
  virtual bool answersAtOnce() const { return false; }
};

}  // namespace fulcrum::ledger
