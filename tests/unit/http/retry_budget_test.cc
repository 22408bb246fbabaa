#include <doctest/doctest.h>

#include <chrono>

#include "http/retry_budget.h"

using namespace fulcrum::http;
using namespace std::chrono_literals;
using TimePoint = RetryBudget::Clock::time_point;

namespace {

// A manual clock: an arbitrary, whole-second start far from the epoch.
const TimePoint kStart = TimePoint{} + 1000h;

// Takes retries until the budget refuses; how many it gave. Bounded so a
// budget that never refuses fails the test instead of hanging it.
int drain(RetryBudget& budget, TimePoint now) {
  int taken = 0;
  while (taken < 100000 && budget.tryRetry(now)) ++taken;
  return taken;
}

void recordRequests(RetryBudget& budget, TimePoint now, int count) {
  for (int i = 0; i < count; ++i) budget.recordRequest(now);
}

}  // namespace

TEST_CASE("retry: budget of 20 percent allows 20 retries after 100 requests, then refuses") {
  RetryBudget budget(20, 0);
  // 100 requests spread over one second.
  for (int i = 0; i < 100; ++i) budget.recordRequest(kStart + i * 10ms);
  const TimePoint now = kStart + 999ms;
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    CHECK(budget.tryRetry(now));
  }
  CHECK_FALSE(budget.tryRetry(now));
  CHECK_FALSE(budget.tryRetry(now));
}

TEST_CASE("retry: budget with no floor refuses a retry before any request") {
  RetryBudget budget(20, 0);
  CHECK_FALSE(budget.tryRetry(kStart));
  recordRequests(budget, kStart, 4);  // 20 % of 4 rounds down to 0
  CHECK_FALSE(budget.tryRetry(kStart));
  recordRequests(budget, kStart, 1);  // 20 % of 5 is 1
  CHECK(budget.tryRetry(kStart));
  CHECK_FALSE(budget.tryRetry(kStart));
}

TEST_CASE("retry: budget adds up the requests of the whole 10 s window") {
  RetryBudget budget(20, 0);
  // 10 requests in each of the 10 seconds: 100 in the window, 20 retries.
  for (int second = 0; second < 10; ++second)
    recordRequests(budget, kStart + std::chrono::seconds(second), 10);
  CHECK(drain(budget, kStart + 9s + 500ms) == 20);
}

TEST_CASE("retry: budget floor allows min_per_second retries per second with no requests") {
  RetryBudget budget(20, 10);
  CHECK(drain(budget, kStart) == 100);  // 10/s over the 10 s window
  CHECK_FALSE(budget.tryRetry(kStart + 5s));
}

TEST_CASE("retry: budget takes the larger of the percentage and the floor") {
  RetryBudget budget(20, 1);             // floor: 10 per window
  recordRequests(budget, kStart, 1000);  // 20 %: 200
  CHECK(drain(budget, kStart) == 200);

  RetryBudget quiet(20, 1);
  recordRequests(quiet, kStart, 20);  // 20 %: 4, below the floor
  CHECK(drain(quiet, kStart) == 10);
}

TEST_CASE("retry: budget forgets requests older than 10 s and falls back to the floor") {
  {
    RetryBudget budget(20, 1);  // floor: 10 per window
    recordRequests(budget, kStart, 100);
    CHECK(drain(budget, kStart + 9s) == 20);  // still in the window
  }
  {
    RetryBudget budget(20, 1);
    recordRequests(budget, kStart, 100);
    CHECK(drain(budget, kStart + 11s) == 10);  // the requests are gone: the floor
  }
  {
    RetryBudget budget(20, 0);
    recordRequests(budget, kStart, 100);
    CHECK_FALSE(budget.tryRetry(kStart + 11s));  // no floor: nothing at all
  }
}

TEST_CASE("retry: budget stops counting retries older than 10 s") {
  RetryBudget budget(0, 1);  // only the floor: 10 per window
  CHECK(drain(budget, kStart) == 10);
  CHECK_FALSE(budget.tryRetry(kStart + 5s));
  CHECK_FALSE(budget.tryRetry(kStart + 9s));
  CHECK(drain(budget, kStart + 11s) == 10);  // the first ten aged out
}

TEST_CASE("retry: budget retries older than 10 s stop counting against the percentage") {
  RetryBudget budget(20, 0);
  recordRequests(budget, kStart, 100);
  CHECK(drain(budget, kStart) == 20);
  // New requests arrive; the old ones and their retries age out together.
  recordRequests(budget, kStart + 10s, 50);
  CHECK(drain(budget, kStart + 11s) == 10);
}

TEST_CASE("retry: budget of 0 percent with no floor never allows a retry") {
  RetryBudget budget(0, 0);
  CHECK_FALSE(budget.tryRetry(kStart));
  recordRequests(budget, kStart, 10000);
  CHECK_FALSE(budget.tryRetry(kStart));
  CHECK_FALSE(budget.tryRetry(kStart + 1s));
  CHECK_FALSE(budget.tryRetry(kStart + 30s));
}
