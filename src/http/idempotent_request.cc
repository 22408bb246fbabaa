#include "http/idempotent_request.h"

#include "core/spares.h"
#include "http/idempotency_answers.h"
#include "ledger/verdict.h"

namespace fulcrum::http {

static_assert(static_cast<size_t>(LedgerResult::UnknownHeld) + 1 == metrics::kIdempotencyResults);

IdempotentRequest::IdempotentRequest(const IdempotencySettings& settings, ledger::Store& store,
                                     KeyedRequest request, metrics::ListenerCounters* counters,
                                     ledger::StoreTimings* timings, uint64_t claim_token)
    : settings_(settings),
      store_(store),
      request_(std::move(request)),
      counters_(counters),
      timings_(timings),
      claim_token_(claim_token) {
  if (request_.key != KeyedRequest::Key::Valid) return;
  builder_.emplace(request_.method, request_.target);
  if (request_.framing == Framing::Chunked) request_chunks_.emplace(Limits{});
  storage_key_ = core::Spares<std::string>::take();
  ledger::storageKey(settings_.key_prefix, request_.scope, request_.value, storage_key_);
  store_.expectClaim(storage_key_);
}

IdempotentRequest::~IdempotentRequest() {
  if (holds_claim_) {
    if (forwarded_)
      unknownOutcome();
    else
      release();
  }
  for (std::string* text : {&request_.value, &request_.request_id, &storage_key_, &fingerprint_})
    core::Spares<std::string>::give(std::move(*text));
}

void IdempotentRequest::count(LedgerResult result) {
  if (counters_ != nullptr) ++counters_->idempotency[static_cast<size_t>(result)];
}

uint64_t IdempotentRequest::bodyBeforeDecision(const RequestInfo&) {
  // The fingerprint covers the body, so the decision waits for all of it,
  // held within the proxy's per-direction buffer.
  return request_.key == KeyedRequest::Key::Valid ? kHttpMaxBuffered : 0;
}

void IdempotentRequest::requestBody(std::string_view bytes) {
  if (!builder_) return;
  if (request_chunks_)
    request_chunks_->feed(bytes, [&](std::string_view data) { builder_->addBody(data); });
  else
    builder_->addBody(bytes);
}

void IdempotentRequest::beforeForwarding(const RequestInfo&, ForwardDecision decision) {
  if (request_.key != KeyedRequest::Key::Valid) {
    // Missing (where a key is required) or invalid: the session makes no
    // hooks for a request that may go without one.
    count(LedgerResult::MissingKey);
    decision.answer(problemAnswer(request_.key == KeyedRequest::Key::Invalid
                                      ? LedgerProblem::InvalidKey
                                      : LedgerProblem::MissingKey,
                                  settings_.header, request_.request_id));
    return;
  }
  fingerprint_ = core::Spares<std::string>::take();
  builder_->finish(fingerprint_);
  builder_.reset();
  // The claim's time is what this request waited (a timeout included).
  const auto asked = std::chrono::steady_clock::now();
  if (store_.answersAtOnce()) {
    // Answered before claim() returns: no token to outlive this, and a
    // callback small enough for std::function to hold without allocating.
    std::optional<ledger::ClaimResult> answered;
    store_.claim(storage_key_, fingerprint_, claim_token_, settings_.in_flight_timeout,
                 [&answered](ledger::ClaimResult result) { answered = std::move(result); });
    if (answered) claimed(*answered, decision, asked);
    return;
  }
  // Held while the store answers: the store calls back on this thread. One
  // whose request is gone is not counted (its generation may be gone too).
  if (!alive_) alive_ = std::make_shared<IdempotentRequest*>(this);
  std::weak_ptr<IdempotentRequest*> alive = alive_;
  store_.claim(storage_key_, fingerprint_, claim_token_, settings_.in_flight_timeout,
               [alive, decision, asked](ledger::ClaimResult result) {
                 auto self = alive.lock();
                 if (self) (*self)->claimed(result, decision, asked);
               });
}

void IdempotentRequest::claimed(const ledger::ClaimResult& result, const ForwardDecision& decision,
                                std::chrono::steady_clock::time_point asked) {
  if (timings_ != nullptr)
    timings_->observe(ledger::StoreOperation::Claim, std::chrono::steady_clock::now() - asked);
  // The repeats the ledger answers itself: what each counts as, and says.
  struct Refusal {
    ledger::Verdict verdict;
    LedgerResult result;
    LedgerProblem problem;
  };
  static constexpr Refusal kRefusals[] = {
      {ledger::Verdict::InFlight, LedgerResult::Conflict, LedgerProblem::InFlight},
      {ledger::Verdict::NotKept, LedgerResult::Conflict, LedgerProblem::NotKept},
      {ledger::Verdict::UnknownHeld, LedgerResult::UnknownHeld, LedgerProblem::UnknownOutcome},
      {ledger::Verdict::Mismatch, LedgerResult::Mismatch, LedgerProblem::Mismatch},
  };
  const ledger::Verdict verdict = ledger::judge(result, fingerprint_);
  if (verdict == ledger::Verdict::Forward) {
    count(LedgerResult::First);
    claim_place_ = result.place;
    holds_claim_ = true;  // before proceed(): it may end the exchange at once
    forwarded_ = true;
    decision.proceed();
    return;
  }
  if (verdict == ledger::Verdict::Replay) {
    count(LedgerResult::Replayed);
    decision.answer(replayAnswer(result.entry.answer));
    return;
  }
  if (verdict == ledger::Verdict::StoreError) {
    count(LedgerResult::StoreError);
    if (settings_.forward_on_store_error)
      decision.proceed();  // unguarded: the operator chose availability
    else
      decision.answer(
          problemAnswer(LedgerProblem::StoreError, settings_.header, request_.request_id));
    return;
  }
  for (const Refusal& refusal : kRefusals)
    if (refusal.verdict == verdict) {
      count(refusal.result);
      decision.answer(problemAnswer(refusal.problem, settings_.header, request_.request_id));
      return;
    }
}

void IdempotentRequest::responseHead(const ResponseHead& head) {
  if (!holds_claim_) return;
  answer_started_ = true;
  answer_status_ = head.status;
  startKeptAnswer(head, claim_token_, fingerprint_, answer_);
  answer_framing_ = responseBodyOut(head, request_.http10);
  if (answer_framing_ == BodyOut::Chunked) answer_chunks_.emplace(Limits{});
}

void IdempotentRequest::keepBody(std::string_view data) {
  if (answer_too_large_) return;
  if (answer_.bodySize() + data.size() > settings_.max_response) {
    answer_too_large_ = true;
    answer_ = ledger::AnswerEncoder();  // what was kept so far goes now
    return;
  }
  answer_.body(data);
}

void IdempotentRequest::responseBody(std::string_view bytes) {
  if (!answer_started_) return;
  if (answer_chunks_)
    answer_chunks_->feed(bytes, [&](std::string_view data) { keepBody(data); });
  else
    keepBody(bytes);
}

void IdempotentRequest::responseEnded(bool complete) {
  answer_complete_ = complete;
}

void IdempotentRequest::exchangeEnded(const ExchangeResult& result) {
  if (!holds_claim_) return;
  if (answer_started_ && result.status >= 200) {
    // A server answered. An answer asking for a retry did not take effect.
    if (ledger::asksForRetry(answer_status_))
      release();
    else if (answer_complete_ && !answer_too_large_ &&
             !(answer_chunks_ && answer_chunks_->failed()))
      settle(ledger::EntryState::Done);
    else
      settle(ledger::EntryState::NotKept);  // answered, but the answer is not all here
    return;
  }
  // No server's answer reached the client. Sent and unanswered, or the
  // client left while it was out: nobody knows whether it took effect.
  const bool may_have_run =
      result.outcome_unknown || (result.end() == ExchangeEnd::ClientLost && result.attempts > 0);
  if (may_have_run)
    unknownOutcome();
  else
    release();  // fulcrum's own error before any server had it
}

void IdempotentRequest::settle(ledger::EntryState state) {
  holds_claim_ = false;
  ledger::Settlement settlement;
  if (state == ledger::EntryState::Done) {
    settlement = {claim_token_, state, answer_.finish()};
  } else {
    ledger::Entry entry;
    entry.state = state;
    entry.fingerprint = std::move(fingerprint_);  // nothing reads it after the settle
    entry.claim = claim_token_;
    settlement = ledger::settlementOf(entry);
  }
  settlement.place = claim_place_;
  store_.settle(storage_key_, std::move(settlement), settings_.ttl, timings_);
}

void IdempotentRequest::release() {
  holds_claim_ = false;
  store_.release(storage_key_, claim_token_, timings_);
}

void IdempotentRequest::unknownOutcome() {
  if (settings_.hold_unknown)
    settle(ledger::EntryState::Unknown);
  else
    release();
}

}  // namespace fulcrum::http
