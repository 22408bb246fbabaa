#include "http/retry_policy.h"

#include "config/schema.h"

namespace fulcrum::http {

unsigned retryOnBit(AttemptFailure failure) {
  switch (failure) {
    case AttemptFailure::ConnectFailure:
      return config::kRetryConnectFailure;
    case AttemptFailure::Reset:
      return config::kRetryReset;
    case AttemptFailure::Timeout:
      return config::kRetryTimeout;
    case AttemptFailure::Status502:
      return config::kRetry502;
    case AttemptFailure::Status503:
      return config::kRetry503;
    case AttemptFailure::Status504:
      return config::kRetry504;
    case AttemptFailure::StaleConnection:
      return 0;
  }
  return 0;
}

const char* failureName(AttemptFailure failure) {
  switch (failure) {
    case AttemptFailure::ConnectFailure:
      return "connect_failure";
    case AttemptFailure::Reset:
      return "reset";
    case AttemptFailure::Timeout:
      return "timeout";
    case AttemptFailure::Status502:
      return "502";
    case AttemptFailure::Status503:
      return "503";
    case AttemptFailure::Status504:
      return "504";
    case AttemptFailure::StaleConnection:
      return "stale_connection";
  }
  return "?";
}

RetryDecision decideRetry(const RetryRules& rules, AttemptPhase phase, AttemptFailure failure,
                          const RetryRequest& request, unsigned attempts_made, bool budget_allows) {
  if (phase == AttemptPhase::ResponseStarted) return RetryDecision::GiveUp;
  const unsigned bit = retryOnBit(failure);
  if (bit != 0 && (rules.on & bit) == 0) return RetryDecision::GiveUp;
  const bool uses_attempt = usesAttempt(failure);
  if (uses_attempt && attempts_made >= rules.max_attempts) return RetryDecision::GiveUp;
  if (phase != AttemptPhase::NotSent) {
    if (!safeToRepeat(rules, request)) return RetryDecision::RefuseNonIdempotent;
    if (!request.body_replayable) return RetryDecision::RefuseBodyTooLarge;
  }
  // A failed connect and the keep-alive race cost the servers nothing: not
  // held to the budget.
  if (uses_attempt && !budget_allows) return RetryDecision::RefuseBudget;
  return RetryDecision::Retry;
}

}  // namespace fulcrum::http
