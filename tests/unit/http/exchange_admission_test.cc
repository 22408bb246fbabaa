#include <doctest/doctest.h>

#include <memory>

#include "support/exchange_harness.h"
#include "support/recording_backend.h"
#include "upstream/circuit_breaker.h"

using namespace fulcrum;

TEST_CASE("exchange: a failed connect gives its max_connections unit back at once") {
  test::RecordingBackend backend("b", test::Behaviour::Refuse);
  upstream::BreakerLimits limits;
  limits.max_connections = 1;
  auto breaker = std::make_shared<upstream::CircuitBreaker>(limits);
  test::ExchangeHarness harness(backend.port(), nullptr, breaker);
  harness.exchange().start();
  REQUIRE(harness.runUntil([&] { return harness.result().has_value(); }));
  CHECK(harness.result()->status == 503);
  // The exchange still exists (its owner deletes it later): the unit must
  // not wait for that, or the next request would queue behind a connect
  // that already failed.
  CHECK(breaker->inUse(upstream::BreakerResource::Connections) == 0);
  CHECK(breaker->inUse(upstream::BreakerResource::Pending) == 0);
}
