#include "http/retry_tracker.h"

#include <algorithm>

#include "core/spares.h"
#include "net/turn_clock.h"

namespace fulcrum::http {

RetryTracker::RetryTracker(const config::RetryConfig& config, const RetryRequest& request,
                           RetryBudget* budget, metrics::UpstreamCounters* metrics, Random* random)
    : config_(config),
      rules_{config.attempts, config.on, config.keyed_non_idempotent},
      request_(request),
      budget_(budget),
      metrics_(metrics),
      random_(random) {
  // A request that can never be sent twice (not safe to repeat, or one
  // attempt only) keeps nothing: no copy on the way up for it.
  replayable_ = safeToRepeat() && config.attempts > 1;
  request_.body_replayable = replayable_;
  if (budget_ != nullptr) budget_->recordRequest(net::TurnClock::now());
}

void RetryTracker::keep(evbuffer* bytes) {
  if (!replayable_) return;
  const size_t length = evbuffer_get_length(bytes);
  if (length == 0) return;
  if (!kept_) kept_ = net::newRecycledBuffer();
  if (evbuffer_get_length(kept_.get()) + length > config_.retry_buffer) {
    // Too large to hold: once these bytes leave, the request cannot be
    // replayed, and the memory goes back now.
    replayable_ = false;
    request_.body_replayable = false;
    evbuffer_drain(kept_.get(), evbuffer_get_length(kept_.get()));
    return;
  }
  evbuffer_add(kept_.get(), evbuffer_pullup(bytes, static_cast<ssize_t>(length)), length);
}

void RetryTracker::replayInto(evbuffer* out) const {
  const size_t length = kept_ ? evbuffer_get_length(kept_.get()) : 0;
  if (length == 0) return;
  evbuffer_add(out, evbuffer_pullup(kept_.get(), static_cast<ssize_t>(length)), length);
}

void RetryTracker::attemptStarted(const upstream::Server* server) {
  if (log_.capacity() == 0) log_ = core::Spares<std::vector<AttemptRecord>>::take();
  AttemptRecord record;
  record.server = server;
  record.started = net::TurnClock::now();
  log_.push_back(std::move(record));
}

void RetryTracker::giveBackLog(std::vector<AttemptRecord>&& taken) {
  core::Spares<std::vector<AttemptRecord>>::give(std::move(taken));
  core::Spares<std::vector<AttemptRecord>>::give(std::move(log_));
}

void RetryTracker::attemptConnected() {
  if (!log_.empty()) log_.back().connected = net::TurnClock::now();
}

void RetryTracker::attemptEnded(AttemptPhase phase, std::string outcome) {
  if (log_.empty()) return;
  log_.back().phase = phase;
  log_.back().outcome = std::move(outcome);
  log_.back().ended = net::TurnClock::now();
}

RetryDecision RetryTracker::decide(AttemptPhase phase, AttemptFailure failure) {
  if (usesAttempt(failure)) ++attempts_used_;
  RetryDecision first =
      decideRetry(rules_, phase, failure, request_, attempts_used_, /*budget_allows=*/true);
  RetryDecision decision = first;
  if (first == RetryDecision::Retry && usesAttempt(failure) && budget_ != nullptr &&
      !budget_->tryRetry(net::TurnClock::now()))
    decision = RetryDecision::RefuseBudget;
#if FULCRUM_REQUEST_METRICS
  if (metrics_ != nullptr) {
    switch (decision) {
      case RetryDecision::Retry:
        ++metrics_->retries[static_cast<size_t>(failure)];
        break;
      case RetryDecision::RefuseNonIdempotent:
        // Only when the outcome is unknown: a server's own 503 is an answer.
        if (phase == AttemptPhase::Sent)
          ++metrics_->retries_refused[metrics::kRefusedNonIdempotent];
        break;
      case RetryDecision::RefuseBudget:
        ++metrics_->retries_refused[metrics::kRefusedBudget];
        break;
      case RetryDecision::RefuseBodyTooLarge:
        ++metrics_->retries_refused[metrics::kRefusedBodyTooLarge];
        break;
      case RetryDecision::GiveUp:
        // Out of attempts, but it could never have been repeated anyway:
        // one more request whose outcome the client must look up.
        if (phase == AttemptPhase::Sent && !safeToRepeat())
          ++metrics_->retries_refused[metrics::kRefusedNonIdempotent];
        break;
    }
  }
#endif
  if (decision == RetryDecision::Retry) ++retries_;
  return decision;
}

std::chrono::milliseconds RetryTracker::backoff(AttemptFailure failure) {
  if (failure == AttemptFailure::ConnectFailure || failure == AttemptFailure::StaleConnection)
    return std::chrono::milliseconds(0);
  const unsigned shift = std::min(retries_ > 0 ? retries_ - 1 : 0u, 16u);
  const auto ceiling = std::min(config_.backoff_base * (int64_t{1} << shift), config_.backoff_max);
  if (ceiling.count() <= 0 || random_ == nullptr) return ceiling;
  // Full jitter: retries of many requests do not land together.
  return std::chrono::milliseconds(random_->below(static_cast<uint64_t>(ceiling.count()) + 1));
}

}  // namespace fulcrum::http
