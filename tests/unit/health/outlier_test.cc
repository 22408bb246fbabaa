#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "health/outlier.h"

using namespace std::chrono_literals;
using fulcrum::health::EjectionReason;
using fulcrum::health::OutlierDetector;
using fulcrum::health::OutlierSpec;
using fulcrum::upstream::Attempt;
using fulcrum::upstream::AttemptOutcome;
using Clock = OutlierDetector::Clock;

namespace {

const Clock::time_point kNow = Clock::time_point{} + 1000h;

Attempt response(uint16_t status) {
  return Attempt{AttemptOutcome::Response, status};
}
const Attempt kReset{AttemptOutcome::Reset, 0};
const Attempt kTimeout{AttemptOutcome::Timeout, 0};
const Attempt kConnectFailure{AttemptOutcome::ConnectFailure, 0};
const Attempt kConnected{AttemptOutcome::Connected, 0};

// Only the 5xx counter is on, with a wide cap.
OutlierSpec only5xx(unsigned threshold) {
  OutlierSpec spec;
  spec.consecutive_5xx = threshold;
  spec.consecutive_gateway_errors = 0;
  spec.consecutive_connect_failures = 0;
  spec.base_ejection = 10s;
  spec.max_ejection = 25s;
  spec.max_ejection_percent = 100;
  return spec;
}

// Reports `attempt` `times` times; true when the last one ejected and none before did.
bool ejectsOnLast(OutlierDetector& detector, uint32_t server, const Attempt& attempt, int times,
                  Clock::time_point now = kNow) {
  for (int i = 0; i < times - 1; ++i)
    if (detector.report(server, attempt, now)) return false;
  return detector.report(server, attempt, now).has_value();
}

}  // namespace

TEST_CASE("health: outlier ejects after exactly consecutive_5xx 5xx responses") {
  OutlierDetector detector(only5xx(3), 4);
  CHECK_FALSE(detector.report(1, response(500), kNow));
  CHECK_FALSE(detector.report(1, response(503), kNow));
  CHECK_FALSE(detector.ejected(1));
  auto ejection = detector.report(1, response(599), kNow);
  REQUIRE(ejection);
  CHECK(ejection->server == 1);
  CHECK(ejection->times == 1);
  CHECK(ejection->duration == 10s);
  CHECK(ejection->why == "3 consecutive 5xx");
  CHECK(ejection->reason == EjectionReason::Errors5xx);
  CHECK(detector.ejected(1));
  CHECK(detector.ejectedCount() == 1);
  CHECK(detector.timesEjected(1) == 1);
  CHECK_FALSE(detector.ejected(0));
}

TEST_CASE("health: outlier consecutive_5xx is reset by a response below 500") {
  OutlierDetector detector(only5xx(3), 2);
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(0, response(499), kNow));
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.ejected(0));
  CHECK(detector.report(0, response(500), kNow));
}

TEST_CASE("health: outlier consecutive_5xx counts resets and timeouts") {
  OutlierDetector detector(only5xx(3), 1);
  CHECK_FALSE(detector.report(0, kReset, kNow));
  CHECK_FALSE(detector.report(0, kTimeout, kNow));
  auto ejection = detector.report(0, response(502), kNow);
  REQUIRE(ejection);
  CHECK(ejection->why == "3 consecutive 5xx");
}

TEST_CASE("health: outlier consecutive_gateway_errors counts 502, 503, 504, resets and timeouts") {
  OutlierSpec spec = only5xx(0);
  spec.consecutive_gateway_errors = 5;
  OutlierDetector detector(spec, 1);
  CHECK_FALSE(detector.report(0, response(502), kNow));
  CHECK_FALSE(detector.report(0, response(503), kNow));
  CHECK_FALSE(detector.report(0, response(504), kNow));
  CHECK_FALSE(detector.report(0, kReset, kNow));
  auto ejection = detector.report(0, kTimeout, kNow);
  REQUIRE(ejection);
  CHECK(ejection->why == "5 consecutive gateway errors");
  CHECK(ejection->reason == EjectionReason::GatewayErrors);
}

TEST_CASE("health: outlier gateway errors are reset by a 500 and by a success") {
  OutlierSpec spec = only5xx(0);
  spec.consecutive_gateway_errors = 2;
  OutlierDetector detector(spec, 1);
  CHECK_FALSE(detector.report(0, response(502), kNow));
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(0, response(503), kNow));
  CHECK_FALSE(detector.report(0, response(200), kNow));
  CHECK_FALSE(detector.report(0, response(504), kNow));
  CHECK_FALSE(detector.report(0, response(501), kNow));
  CHECK_FALSE(detector.report(0, response(505), kNow));
  CHECK_FALSE(detector.ejected(0));
  CHECK_FALSE(detector.report(0, response(502), kNow));
  CHECK(detector.report(0, response(502), kNow));
}

TEST_CASE("health: outlier 500s alone never cross the gateway threshold") {
  OutlierSpec spec = only5xx(0);
  spec.consecutive_gateway_errors = 2;
  OutlierDetector detector(spec, 1);
  for (int i = 0; i < 20; ++i) CHECK_FALSE(detector.report(0, response(500), kNow));
}

TEST_CASE("health: outlier counts connect failures separately") {
  OutlierSpec spec = only5xx(3);
  spec.consecutive_connect_failures = 3;
  OutlierDetector detector(spec, 1);
  // Connect failures and 5xx interleaved: neither counter reaches 3 ...
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  // ... a 5xx response means the connect worked: connect failures reset.
  CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK_FALSE(detector.report(0, kConnected, kNow));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK_FALSE(detector.ejected(0));
  auto ejection = detector.report(0, kConnectFailure, kNow);
  REQUIRE(ejection);
  CHECK(ejection->why == "3 consecutive connect failures");
  CHECK(ejection->reason == EjectionReason::ConnectFailures);
}

TEST_CASE("health: outlier connect failures are reset by any response, reset or timeout") {
  OutlierSpec spec = only5xx(0);
  spec.consecutive_connect_failures = 2;
  OutlierDetector detector(spec, 1);
  for (const Attempt& between : {response(200), response(500), kReset, kTimeout, kConnected}) {
    CAPTURE(static_cast<int>(between.outcome));
    CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
    CHECK_FALSE(detector.report(0, between, kNow));
  }
  CHECK_FALSE(detector.ejected(0));
  CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  CHECK(detector.report(0, kConnectFailure, kNow));
}

TEST_CASE("health: outlier threshold 0 disables that counter") {
  OutlierSpec spec = only5xx(0);
  spec.consecutive_gateway_errors = 0;
  spec.consecutive_connect_failures = 0;
  OutlierDetector detector(spec, 1);
  for (int i = 0; i < 50; ++i) {
    CHECK_FALSE(detector.report(0, response(503), kNow));
    CHECK_FALSE(detector.report(0, kConnectFailure, kNow));
  }
  // Connect failures alone, with a 5xx counter that is on, never eject.
  OutlierDetector connect_off(only5xx(3), 1);
  for (int i = 0; i < 50; ++i) CHECK_FALSE(connect_off.report(0, kConnectFailure, kNow));
}

TEST_CASE("health: outlier ejections last base * times, capped by max_ejection") {
  OutlierDetector detector(only5xx(2), 1);  // base 10s, max 25s
  CHECK_FALSE(detector.nextRelease());

  REQUIRE(ejectsOnLast(detector, 0, response(500), 2, kNow));
  REQUIRE(detector.nextRelease());
  CHECK(*detector.nextRelease() == kNow + 10s);
  CHECK(detector.release(kNow + 10s - 1ms).empty());
  CHECK(detector.ejected(0));
  CHECK(detector.release(kNow + 10s) == std::vector<uint32_t>{0});
  CHECK_FALSE(detector.ejected(0));
  CHECK(detector.ejectedCount() == 0);
  CHECK_FALSE(detector.nextRelease());
  CHECK(detector.release(kNow + 11s).empty());

  const auto second = kNow + 20s;
  CHECK_FALSE(detector.report(0, response(500), second));
  auto ejection = detector.report(0, response(500), second);
  REQUIRE(ejection);
  CHECK(ejection->times == 2);
  CHECK(ejection->duration == 20s);
  CHECK(*detector.nextRelease() == second + 20s);
  CHECK(detector.release(second + 20s - 1ms).empty());
  CHECK(detector.release(second + 20s) == std::vector<uint32_t>{0});

  const auto third = kNow + 60s;
  CHECK_FALSE(detector.report(0, response(500), third));
  ejection = detector.report(0, response(500), third);
  REQUIRE(ejection);
  CHECK(ejection->times == 3);
  CHECK(ejection->duration == 25s);  // 30s capped
  CHECK(*detector.nextRelease() == third + 25s);
}

TEST_CASE("health: outlier nextRelease is the earliest of several ejections") {
  OutlierDetector detector(only5xx(1), 3);
  REQUIRE(detector.report(2, response(500), kNow + 5s));
  REQUIRE(detector.report(0, response(500), kNow));
  CHECK(*detector.nextRelease() == kNow + 10s);
  CHECK(detector.release(kNow + 10s) == std::vector<uint32_t>{0});
  CHECK(*detector.nextRelease() == kNow + 15s);
  CHECK(detector.release(kNow + 1h) == std::vector<uint32_t>{2});
}

TEST_CASE("health: outlier reports about an ejected server are ignored") {
  OutlierDetector detector(only5xx(3), 2);
  REQUIRE(ejectsOnLast(detector, 0, response(500), 3));
  for (int i = 0; i < 10; ++i) CHECK_FALSE(detector.report(0, response(500), kNow));
  CHECK(detector.timesEjected(0) == 1);
  CHECK(detector.ejectedCount() == 1);
  CHECK(detector.release(kNow + 10s).size() == 1);
  // Nothing counted while it was out, and the count restarted at ejection.
  CHECK(ejectsOnLast(detector, 0, response(500), 3, kNow + 10s));
}

TEST_CASE("health: outlier decay lowers the ejection count of servers that are in") {
  OutlierDetector detector(only5xx(1), 2);  // base 10s, max 25s
  REQUIRE(detector.report(0, response(500), kNow));
  detector.release(kNow + 10s);
  REQUIRE(detector.report(0, response(500), kNow + 10s));
  CHECK(detector.timesEjected(0) == 2);
  // Out: decay leaves it alone.
  detector.decay();
  CHECK(detector.timesEjected(0) == 2);
  detector.release(kNow + 30s);
  detector.decay();
  CHECK(detector.timesEjected(0) == 1);
  // The next ejection is the second again: 20s, not 30s.
  auto ejection = detector.report(0, response(500), kNow + 40s);
  REQUIRE(ejection);
  CHECK(ejection->times == 2);
  CHECK(ejection->duration == 20s);
  detector.release(kNow + 60s);
  detector.decay();
  detector.decay();
  detector.decay();  // never below 0
  CHECK(detector.timesEjected(0) == 0);
  CHECK(detector.timesEjected(1) == 0);
  ejection = detector.report(0, response(500), kNow + 70s);
  REQUIRE(ejection);
  CHECK(ejection->times == 1);
  CHECK(ejection->duration == 10s);
}

TEST_CASE("health: outlier cap keeps at most max_ejection_percent out and counts refusals") {
  OutlierSpec spec = only5xx(2);
  spec.max_ejection_percent = 20;
  OutlierDetector detector(spec, 10);
  CHECK(detector.cap() == 2);
  REQUIRE(ejectsOnLast(detector, 0, response(500), 2));
  REQUIRE(ejectsOnLast(detector, 1, response(500), 2));
  CHECK(detector.ejectedCount() == 2);
  CHECK(detector.capRefusals() == 0);

  CHECK_FALSE(detector.report(2, response(500), kNow));
  CHECK(detector.capRefusals() == 0);  // below threshold: not a refusal
  CHECK_FALSE(detector.report(2, response(500), kNow));
  CHECK_FALSE(detector.ejected(2));
  CHECK(detector.ejectedCount() == 2);
  CHECK(detector.capRefusals() == 1);
  CHECK_FALSE(detector.report(2, response(500), kNow));
  CHECK(detector.capRefusals() == 2);

  // Room again: the kept streak ejects on the next failure.
  CHECK(detector.release(kNow + 10s) == std::vector<uint32_t>{0, 1});
  auto ejection = detector.report(2, response(500), kNow + 10s);
  REQUIRE(ejection);
  CHECK(ejection->why == "4 consecutive 5xx");
  CHECK(detector.ejectedCount() == 1);
}

TEST_CASE("health: outlier cap lets one server out even when the percentage rounds to 0") {
  OutlierSpec spec = only5xx(1);
  spec.max_ejection_percent = 10;
  OutlierDetector detector(spec, 3);
  CHECK(detector.cap() == 1);
  CHECK(detector.report(0, response(500), kNow));
  CHECK_FALSE(detector.report(1, response(500), kNow));
  CHECK(detector.capRefusals() == 1);
  CHECK(detector.ejectedCount() == 1);
}

TEST_CASE("health: outlier ignores reports for an unknown server index") {
  OutlierDetector detector(only5xx(1), 2);
  CHECK_FALSE(detector.report(2, response(500), kNow));
  CHECK(detector.ejectedCount() == 0);
}

TEST_CASE("health: outlier ejection reasons name the metric's reason label") {
  CHECK(std::string(fulcrum::health::ejectionReasonName(EjectionReason::Errors5xx)) == "5xx");
  CHECK(std::string(fulcrum::health::ejectionReasonName(EjectionReason::GatewayErrors)) ==
        "gateway");
  CHECK(std::string(fulcrum::health::ejectionReasonName(EjectionReason::ConnectFailures)) ==
        "connect");
  CHECK(std::string(fulcrum::health::ejectionReasonName(EjectionReason::DefaultConnectFailures)) ==
        "connect_default");
}
