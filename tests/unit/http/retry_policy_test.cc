#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "config/schema.h"
#include "http/retry_policy.h"

using namespace fulcrum;
using namespace fulcrum::http;
using Phase = AttemptPhase;
using Failure = AttemptFailure;
using Decision = RetryDecision;

namespace doctest {
template <>
struct StringMaker<RetryDecision> {
  static String convert(RetryDecision decision) {
    switch (decision) {
      case RetryDecision::Retry:
        return "Retry";
      case RetryDecision::GiveUp:
        return "GiveUp";
      case RetryDecision::RefuseNonIdempotent:
        return "RefuseNonIdempotent";
      case RetryDecision::RefuseBodyTooLarge:
        return "RefuseBodyTooLarge";
      case RetryDecision::RefuseBudget:
        return "RefuseBudget";
    }
    return "RetryDecision(?)";
  }
};
}  // namespace doctest

namespace {

// The contract's defaults: two attempts, every kind in `on`, keyed requests
// repeatable (non_idempotent: if_idempotency_key).
RetryRules defaults() {
  return RetryRules{2, config::kRetryAll, true};
}

// The three columns of the table; each holds everything it sent.
constexpr RetryRequest kIdempotent{true, false, true};  // GET, PUT, ...
constexpr RetryRequest kKeyed{false, true, true};       // POST + Idempotency-Key
constexpr RetryRequest kUnkeyed{false, false, true};    // POST, no key

constexpr Failure kAllFailures[] = {Failure::ConnectFailure, Failure::Reset,     Failure::Timeout,
                                    Failure::Status502,      Failure::Status503, Failure::Status504,
                                    Failure::StaleConnection};
constexpr Failure kSentFailures[] = {Failure::Reset, Failure::Timeout};
constexpr Failure kAnsweredFailures[] = {Failure::Status502, Failure::Status503,
                                         Failure::Status504};

// A first attempt that failed, with budget to spare.
Decision firstFailure(const RetryRequest& request, Phase phase, Failure failure,
                      const RetryRules& rules = defaults()) {
  return decideRetry(rules, phase, failure, request, 1, true);
}

}  // namespace

// --- The table, row by row and column by column. ---

TEST_CASE("retry: connect failure of an idempotent request is retried") {
  CHECK(firstFailure(kIdempotent, Phase::NotSent, Failure::ConnectFailure) == Decision::Retry);
}

TEST_CASE("retry: connect failure of a keyed POST is retried") {
  CHECK(firstFailure(kKeyed, Phase::NotSent, Failure::ConnectFailure) == Decision::Retry);
}

TEST_CASE("retry: connect failure of an unkeyed POST is retried: nothing was sent") {
  CHECK(firstFailure(kUnkeyed, Phase::NotSent, Failure::ConnectFailure) == Decision::Retry);
}

TEST_CASE("retry: reset or timeout after send of an idempotent request is retried") {
  for (Failure failure : kSentFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kIdempotent, Phase::Sent, failure) == Decision::Retry);
  }
}

TEST_CASE("retry: reset or timeout after send of a keyed POST is retried") {
  for (Failure failure : kSentFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kKeyed, Phase::Sent, failure) == Decision::Retry);
  }
}

TEST_CASE("retry: reset or timeout after send of an unkeyed POST is refused as non-idempotent") {
  for (Failure failure : kSentFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kUnkeyed, Phase::Sent, failure) == Decision::RefuseNonIdempotent);
  }
}

TEST_CASE("retry: a 502/503/504 answer to an idempotent request is retried") {
  for (Failure failure : kAnsweredFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kIdempotent, Phase::Answered, failure) == Decision::Retry);
  }
}

TEST_CASE("retry: a 502/503/504 answer to a keyed POST is retried") {
  for (Failure failure : kAnsweredFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kKeyed, Phase::Answered, failure) == Decision::Retry);
  }
}

TEST_CASE("retry: a 502/503/504 answer to an unkeyed POST is refused as non-idempotent") {
  for (Failure failure : kAnsweredFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kUnkeyed, Phase::Answered, failure) == Decision::RefuseNonIdempotent);
  }
}

TEST_CASE("retry: once the response started an idempotent request is never retried") {
  for (Failure failure : kAllFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kIdempotent, Phase::ResponseStarted, failure) == Decision::GiveUp);
  }
}

TEST_CASE("retry: once the response started a keyed POST is never retried") {
  for (Failure failure : kAllFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kKeyed, Phase::ResponseStarted, failure) == Decision::GiveUp);
  }
}

TEST_CASE("retry: once the response started an unkeyed POST gives up, not refuses") {
  for (Failure failure : kAllFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kUnkeyed, Phase::ResponseStarted, failure) == Decision::GiveUp);
  }
}

// --- Every retry also needs the kind in `on`. ---

TEST_CASE("retry: a failure kind not in `on` gives up") {
  struct Case {
    Failure failure;
    Phase phase;
  };
  const Case cases[] = {
      {Failure::ConnectFailure, Phase::NotSent}, {Failure::Reset, Phase::Sent},
      {Failure::Timeout, Phase::Sent},           {Failure::Status502, Phase::Answered},
      {Failure::Status503, Phase::Answered},     {Failure::Status504, Phase::Answered}};
  for (const Case& c : cases) {
    CAPTURE(failureName(c.failure));
    RetryRules rules = defaults();
    rules.on = config::kRetryAll & ~retryOnBit(c.failure);
    CHECK(firstFailure(kIdempotent, c.phase, c.failure, rules) == Decision::GiveUp);
    // ...and its own bit alone is enough.
    rules.on = retryOnBit(c.failure);
    CHECK(firstFailure(kIdempotent, c.phase, c.failure, rules) == Decision::Retry);
  }
}

TEST_CASE("retry: an empty `on` retries nothing but the stale connection") {
  RetryRules rules = defaults();
  rules.on = 0;
  CHECK(firstFailure(kIdempotent, Phase::NotSent, Failure::ConnectFailure, rules) ==
        Decision::GiveUp);
  CHECK(firstFailure(kIdempotent, Phase::Sent, Failure::Reset, rules) == Decision::GiveUp);
  CHECK(firstFailure(kIdempotent, Phase::Answered, Failure::Status503, rules) == Decision::GiveUp);
  CHECK(firstFailure(kIdempotent, Phase::Sent, Failure::StaleConnection, rules) == Decision::Retry);
}

// --- ...and an attempt left. ---

TEST_CASE("retry: no attempt left gives up") {
  const RetryRules rules = defaults();  // max_attempts 2
  CHECK(decideRetry(rules, Phase::Sent, Failure::Reset, kIdempotent, 1, true) == Decision::Retry);
  CHECK(decideRetry(rules, Phase::Sent, Failure::Reset, kIdempotent, 2, true) == Decision::GiveUp);
  CHECK(decideRetry(rules, Phase::Sent, Failure::Reset, kIdempotent, 3, true) == Decision::GiveUp);
  CHECK(decideRetry(rules, Phase::Answered, Failure::Status503, kKeyed, 2, true) ==
        Decision::GiveUp);
}

TEST_CASE("retry: a failed connect and the keep-alive re-send use no attempt and no budget") {
  RetryRules rules = defaults();
  for (unsigned max_attempts : {1u, 2u}) {
    rules.max_attempts = max_attempts;
    CAPTURE(max_attempts);
    // Nothing was sent: every method goes on to the next server, however
    // many tries already used an attempt, with the budget spent.
    for (const RetryRequest& request : {kIdempotent, kKeyed, kUnkeyed})
      CHECK(decideRetry(rules, Phase::NotSent, Failure::ConnectFailure, request, 5, false) ==
            Decision::Retry);
    // The server never saw the request on its closed kept-alive connection.
    for (const RetryRequest& request : {kIdempotent, kKeyed})
      CHECK(decideRetry(rules, Phase::Sent, Failure::StaleConnection, request, 5, false) ==
            Decision::Retry);
  }
  CHECK_FALSE(usesAttempt(Failure::ConnectFailure));
  CHECK_FALSE(usesAttempt(Failure::StaleConnection));
  for (Failure failure : kSentFailures) CHECK(usesAttempt(failure));
  for (Failure failure : kAnsweredFailures) CHECK(usesAttempt(failure));
}

TEST_CASE("retry: a connect failure is still not retried when connect_failure is not in `on`") {
  RetryRules rules = defaults();
  rules.on = config::kRetryAll & ~config::kRetryConnectFailure;
  CHECK(decideRetry(rules, Phase::NotSent, Failure::ConnectFailure, kIdempotent, 0, true) ==
        Decision::GiveUp);
}

TEST_CASE("retry: with more attempts the third try is allowed and the fourth is not") {
  RetryRules rules = defaults();
  rules.max_attempts = 3;
  CHECK(decideRetry(rules, Phase::Sent, Failure::Timeout, kIdempotent, 2, true) == Decision::Retry);
  CHECK(decideRetry(rules, Phase::Sent, Failure::Timeout, kIdempotent, 3, true) ==
        Decision::GiveUp);
}

TEST_CASE("retry: max_attempts 1 never sends the request a second time") {
  RetryRules rules = defaults();
  rules.max_attempts = 1;
  for (Phase phase : {Phase::NotSent, Phase::Sent, Phase::Answered, Phase::ResponseStarted}) {
    for (Failure failure : kAllFailures) {
      if (!usesAttempt(failure)) continue;  // see the test above
      for (const RetryRequest& request : {kIdempotent, kKeyed, kUnkeyed}) {
        CAPTURE(static_cast<int>(phase));
        CAPTURE(failureName(failure));
        CAPTURE(request.idempotent);
        CAPTURE(request.has_key);
        CHECK(firstFailure(request, phase, failure, rules) == Decision::GiveUp);
      }
    }
  }
}

// --- non_idempotent: never ---

TEST_CASE("retry: with non_idempotent never a keyed POST is retried only on connect failure") {
  RetryRules rules = defaults();
  rules.keyed_non_idempotent = false;
  CHECK(firstFailure(kKeyed, Phase::NotSent, Failure::ConnectFailure, rules) == Decision::Retry);
  for (Failure failure : kSentFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kKeyed, Phase::Sent, failure, rules) == Decision::RefuseNonIdempotent);
  }
  for (Failure failure : kAnsweredFailures) {
    CAPTURE(failureName(failure));
    CHECK(firstFailure(kKeyed, Phase::Answered, failure, rules) == Decision::RefuseNonIdempotent);
  }
  CHECK(firstFailure(kKeyed, Phase::Sent, Failure::StaleConnection, rules) ==
        Decision::RefuseNonIdempotent);
}

TEST_CASE("retry: with non_idempotent never an idempotent request is still retried after send") {
  RetryRules rules = defaults();
  rules.keyed_non_idempotent = false;
  CHECK(firstFailure(kIdempotent, Phase::Sent, Failure::Reset, rules) == Decision::Retry);
  const RetryRequest keyed_get{true, true, true};
  CHECK(firstFailure(keyed_get, Phase::Answered, Failure::Status502, rules) == Decision::Retry);
}

TEST_CASE("retry: safeToRepeat is idempotent, or keyed under if_idempotency_key") {
  RetryRules rules = defaults();
  CHECK(safeToRepeat(rules, kIdempotent));
  CHECK(safeToRepeat(rules, kKeyed));
  CHECK_FALSE(safeToRepeat(rules, kUnkeyed));
  rules.keyed_non_idempotent = false;
  CHECK(safeToRepeat(rules, kIdempotent));
  CHECK_FALSE(safeToRepeat(rules, kKeyed));
  CHECK_FALSE(safeToRepeat(rules, kUnkeyed));
}

// --- A replayable body once something was sent. ---

TEST_CASE(
    "retry: a body past retry_buffer is refused after send but retried when nothing was sent") {
  for (RetryRequest request : {kIdempotent, kKeyed, kUnkeyed}) {
    request.body_replayable = false;
    CAPTURE(request.idempotent);
    CAPTURE(request.has_key);
    CHECK(firstFailure(request, Phase::NotSent, Failure::ConnectFailure) == Decision::Retry);
  }
  for (RetryRequest request : {kIdempotent, kKeyed}) {
    request.body_replayable = false;
    CAPTURE(request.idempotent);
    for (Failure failure : kSentFailures) {
      CAPTURE(failureName(failure));
      CHECK(firstFailure(request, Phase::Sent, failure) == Decision::RefuseBodyTooLarge);
    }
    for (Failure failure : kAnsweredFailures) {
      CAPTURE(failureName(failure));
      CHECK(firstFailure(request, Phase::Answered, failure) == Decision::RefuseBodyTooLarge);
    }
    CHECK(firstFailure(request, Phase::Sent, Failure::StaleConnection) ==
          Decision::RefuseBodyTooLarge);
  }
}

// --- ...and the budget. ---

TEST_CASE("retry: an exhausted budget refuses every kind that uses an attempt") {
  const RetryRules rules = defaults();
  for (const RetryRequest& request : {kIdempotent, kKeyed}) {
    CAPTURE(request.idempotent);
    for (Failure failure : kSentFailures) {
      CAPTURE(failureName(failure));
      CHECK(decideRetry(rules, Phase::Sent, failure, request, 1, false) == Decision::RefuseBudget);
    }
    for (Failure failure : kAnsweredFailures) {
      CAPTURE(failureName(failure));
      CHECK(decideRetry(rules, Phase::Answered, failure, request, 1, false) ==
            Decision::RefuseBudget);
    }
  }
}

TEST_CASE("retry: the stale keep-alive re-send ignores the budget and `on`") {
  RetryRules rules = defaults();
  rules.on = 0;
  for (const RetryRequest& request : {kIdempotent, kKeyed}) {
    CAPTURE(request.idempotent);
    CHECK(decideRetry(rules, Phase::Sent, Failure::StaleConnection, request, 1, false) ==
          Decision::Retry);
  }
}

TEST_CASE("retry: the stale keep-alive re-send of an unkeyed POST is refused: outcome unknown") {
  CHECK(decideRetry(defaults(), Phase::Sent, Failure::StaleConnection, kUnkeyed, 1, true) ==
        Decision::RefuseNonIdempotent);
}

// --- The order of the reasons. ---

TEST_CASE("retry: an unkeyed POST with no budget is refused as non-idempotent, not for budget") {
  CHECK(decideRetry(defaults(), Phase::Sent, Failure::Reset, kUnkeyed, 1, false) ==
        Decision::RefuseNonIdempotent);
  CHECK(decideRetry(defaults(), Phase::Answered, Failure::Status503, kUnkeyed, 1, false) ==
        Decision::RefuseNonIdempotent);
}

TEST_CASE("retry: an unkeyed POST with a large body is refused as non-idempotent, not too large") {
  RetryRequest request = kUnkeyed;
  request.body_replayable = false;
  CHECK(decideRetry(defaults(), Phase::Sent, Failure::Timeout, request, 1, false) ==
        Decision::RefuseNonIdempotent);
}

TEST_CASE("retry: a large body is refused as too large before the budget is asked") {
  RetryRequest request = kKeyed;
  request.body_replayable = false;
  CHECK(decideRetry(defaults(), Phase::Sent, Failure::Reset, request, 1, false) ==
        Decision::RefuseBodyTooLarge);
}

TEST_CASE("retry: no attempt left beats non-idempotent, body too large and budget") {
  const RetryRules rules = defaults();
  RetryRequest request = kUnkeyed;
  request.body_replayable = false;
  CHECK(decideRetry(rules, Phase::Sent, Failure::Reset, request, 2, false) == Decision::GiveUp);
  request = kKeyed;
  request.body_replayable = false;
  CHECK(decideRetry(rules, Phase::Answered, Failure::Status502, request, 2, false) ==
        Decision::GiveUp);
}

TEST_CASE("retry: a kind not in `on` beats non-idempotent and budget") {
  RetryRules rules = defaults();
  rules.on = config::kRetryAll & ~config::kRetryReset;
  CHECK(decideRetry(rules, Phase::Sent, Failure::Reset, kUnkeyed, 1, false) == Decision::GiveUp);
}

TEST_CASE("retry: a started response gives up even for a stale connection with budget left") {
  CHECK(decideRetry(defaults(), Phase::ResponseStarted, Failure::StaleConnection, kIdempotent, 1,
                    true) == Decision::GiveUp);
}

// --- Names and bits. ---

TEST_CASE("retry: failureName gives the metric reason of each kind") {
  CHECK(std::string(failureName(Failure::ConnectFailure)) == "connect_failure");
  CHECK(std::string(failureName(Failure::Reset)) == "reset");
  CHECK(std::string(failureName(Failure::Timeout)) == "timeout");
  CHECK(std::string(failureName(Failure::Status502)) == "502");
  CHECK(std::string(failureName(Failure::Status503)) == "503");
  CHECK(std::string(failureName(Failure::Status504)) == "504");
  CHECK(std::string(failureName(Failure::StaleConnection)) == "stale_connection");
}

TEST_CASE("retry: retryOnBit maps each kind to its config bit, the stale connection to none") {
  CHECK(retryOnBit(Failure::ConnectFailure) == config::kRetryConnectFailure);
  CHECK(retryOnBit(Failure::Reset) == config::kRetryReset);
  CHECK(retryOnBit(Failure::Timeout) == config::kRetryTimeout);
  CHECK(retryOnBit(Failure::Status502) == config::kRetry502);
  CHECK(retryOnBit(Failure::Status503) == config::kRetry503);
  CHECK(retryOnBit(Failure::Status504) == config::kRetry504);
  CHECK(retryOnBit(Failure::StaleConnection) == 0u);

  unsigned all = 0;
  for (Failure failure : kAllFailures) {
    CAPTURE(failureName(failure));
    CHECK((all & retryOnBit(failure)) == 0u);  // distinct bits
    all |= retryOnBit(failure);
  }
  CHECK(all == static_cast<unsigned>(config::kRetryAll));
}
