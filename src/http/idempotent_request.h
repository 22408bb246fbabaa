// One keyed request on a route with an idempotency ledger (DESIGN.md
// section 12), as the hooks of its Exchange (exchange_hooks.h): it reads
// the body into the request's fingerprint, claims the key, then lets the
// request go to a server or answers it itself (the kept answer, 409, 422,
// 400, 503); it copies the server's final answer as it streams to the
// client and, when the exchange ends, keeps that answer, marks it not
// kept or of unknown outcome, or releases the key.
//
// Made by the HttpSession for each request whose method the route's
// ledger watches and that carries a key (or must: require_key), owned by it beside the Exchange and
// deferDeleted when the exchange ends (after exchangeEnded()), on the session's loop. A claim the
// store answers later reaches it only while it lives (a weak token): a store that answers after the
// client left changes nothing but the entry. Destroyed with its key claimed and not settled (the
// session died mid-request), it settles as on_unknown_outcome says if the request may have been
// sent, else releases.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/thread_cached.h"
#include "http/codec/chunk_data.h"
#include "http/codec/framing.h"
#include "http/exchange.h"
#include "http/idempotency_settings.h"
#include "ledger/entry_codec.h"
#include "ledger/fingerprint.h"
#include "ledger/store.h"
#include "metrics/worker_metrics.h"
#include "net/event_loop.h"

namespace fulcrum::http {

// fulcrum_idempotency_requests_total results (metrics::kIdempotencyResults).
enum class LedgerResult {
  First,
  Replayed,
  Conflict,
  Mismatch,
  MissingKey,
  StoreError,
  UnknownHeld,
};

// What the session found in the request head.
struct KeyedRequest {
  enum class Key { Valid, Missing, Invalid } key = Key::Missing;
  std::string value;  // the key, when Valid
  std::string scope;  // the scope field's value (empty: none, or no such field)
  std::string method;
  std::string target;      // as forwarded
  std::string request_id;  // for problem bodies
  Framing framing = Framing::None;
  bool http10 = false;  // the client's version: how the answer's body is framed to it
};

class IdempotentRequest final : public ExchangeHooks,
                                public net::DeferredDeletable,
                                public core::ThreadCached<IdempotentRequest> {
 public:
  // `settings` and `store` outlive this (the generation holds them);
  // `counters` and `timings` may be null.
  IdempotentRequest(const IdempotencySettings& settings, ledger::Store& store, KeyedRequest request,
                    metrics::ListenerCounters* counters, ledger::StoreTimings* timings,
                    uint64_t claim_token);
  ~IdempotentRequest() override;

  // ExchangeHooks
  uint64_t bodyBeforeDecision(const RequestInfo& request) override;
  void requestBody(std::string_view bytes) override;
  void beforeForwarding(const RequestInfo& request, ForwardDecision decision) override;
  void responseHead(const ResponseHead& head) override;
  void responseBody(std::string_view bytes) override;
  void responseEnded(bool complete) override;

  // The exchange ended (the session's exchangeFinished or exchangeUpgraded).
  void exchangeEnded(const ExchangeResult& result);

 private:
  // The store answered the claim asked at `asked` (its time is counted).
  void claimed(const ledger::ClaimResult& result, const ForwardDecision& decision,
               std::chrono::steady_clock::time_point asked);
  void count(LedgerResult result);
  void keepBody(std::string_view data);
  // Settles the claim: the entry becomes `state` (Done: with answer_).
  void settle(ledger::EntryState state);
  void release();
  void unknownOutcome();

  const IdempotencySettings& settings_;
  ledger::Store& store_;
  KeyedRequest request_;
  metrics::ListenerCounters* counters_;
  ledger::StoreTimings* timings_;
  uint64_t claim_token_;
  uint64_t claim_place_ = 0;  // the store's ClaimResult::place of our claim
  std::string storage_key_;
  std::string fingerprint_;
  std::optional<ledger::FingerprintBuilder> builder_;
  std::optional<ChunkData> request_chunks_;  // a chunked request body
  // The weak token of a claim a store answers later (made at the first).
  std::shared_ptr<IdempotentRequest*> alive_;
  bool holds_claim_ = false;  // the key is ours and not settled yet
  bool forwarded_ = false;    // the request may have reached a server
  // The server's final answer, as it streams.
  bool answer_started_ = false;
  bool answer_complete_ = false;
  bool answer_too_large_ = false;
  int answer_status_ = 0;
  BodyOut answer_framing_ = BodyOut::None;
  std::optional<ChunkData> answer_chunks_;
  ledger::AnswerEncoder answer_;
};

}  // namespace fulcrum::http
