#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "health/outlier_reporter.h"

using fulcrum::health::OutlierReporter;
using fulcrum::upstream::Attempt;
using fulcrum::upstream::AttemptOutcome;

namespace {

Attempt response(uint16_t status) {
  return Attempt{AttemptOutcome::Response, status};
}
const Attempt kConnected{AttemptOutcome::Connected, 0};
const Attempt kConnectFailure{AttemptOutcome::ConnectFailure, 0};
const Attempt kReset{AttemptOutcome::Reset, 0};
const Attempt kTimeout{AttemptOutcome::Timeout, 0};

struct Forwarded {
  uint32_t server;
  AttemptOutcome outcome;
  uint16_t status;
  bool operator==(const Forwarded&) const = default;
};

struct Recorder {
  std::vector<Forwarded> seen;
  OutlierReporter::Forward forward() {
    return [this](uint32_t server, const Attempt& attempt) {
      seen.push_back({server, attempt.outcome, attempt.status});
    };
  }
};

}  // namespace

TEST_CASE("health: outlier reporter with an empty forward forwards nothing") {
  OutlierReporter reporter(3, OutlierReporter::Forward{});
  // Would crash calling an empty std::function if it tried.
  reporter.report(0, response(500));
  reporter.report(1, kConnectFailure);
  reporter.report(2, response(200));
  reporter.report(0, response(200));
}

TEST_CASE("health: outlier reporter keeps plain successes local while nothing failed") {
  Recorder recorder;
  OutlierReporter reporter(2, recorder.forward());
  reporter.report(0, response(200));
  reporter.report(0, response(404));
  reporter.report(0, response(499));
  reporter.report(1, kConnected);
  CHECK(recorder.seen.empty());
}

TEST_CASE("health: outlier reporter forwards every failure") {
  Recorder recorder;
  OutlierReporter reporter(1, recorder.forward());
  reporter.report(0, response(500));
  reporter.report(0, response(503));
  reporter.report(0, kReset);
  reporter.report(0, kTimeout);
  reporter.report(0, kConnectFailure);
  const std::vector<Forwarded> expected{{0, AttemptOutcome::Response, 500},
                                        {0, AttemptOutcome::Response, 503},
                                        {0, AttemptOutcome::Reset, 0},
                                        {0, AttemptOutcome::Timeout, 0},
                                        {0, AttemptOutcome::ConnectFailure, 0}};
  CHECK(recorder.seen == expected);
}

TEST_CASE("health: outlier reporter forwards the success that ends a failure streak, once") {
  Recorder recorder;
  OutlierReporter reporter(1, recorder.forward());
  reporter.report(0, response(502));
  reporter.report(0, response(200));
  reporter.report(0, response(200));
  reporter.report(0, kConnected);
  reporter.report(0, kConnectFailure);
  reporter.report(0, kConnected);
  reporter.report(0, response(201));
  const std::vector<Forwarded> expected{{0, AttemptOutcome::Response, 502},
                                        {0, AttemptOutcome::Response, 200},
                                        {0, AttemptOutcome::ConnectFailure, 0},
                                        {0, AttemptOutcome::Connected, 0}};
  CHECK(recorder.seen == expected);
}

TEST_CASE("health: outlier reporter tracks each server's streak on its own") {
  Recorder recorder;
  OutlierReporter reporter(3, recorder.forward());
  reporter.report(1, response(500));
  reporter.report(0, response(200));  // server 0 never failed
  reporter.report(2, response(200));
  reporter.report(1, response(200));  // ends server 1's streak
  reporter.report(1, response(200));
  reporter.report(2, kReset);
  reporter.report(0, response(200));
  reporter.report(2, response(204));
  const std::vector<Forwarded> expected{{1, AttemptOutcome::Response, 500},
                                        {1, AttemptOutcome::Response, 200},
                                        {2, AttemptOutcome::Reset, 0},
                                        {2, AttemptOutcome::Response, 204}};
  CHECK(recorder.seen == expected);
}

TEST_CASE("health: outlier reporter ignores an unknown server index") {
  Recorder recorder;
  OutlierReporter reporter(2, recorder.forward());
  reporter.report(2, response(500));
  reporter.report(7, kConnectFailure);
  CHECK(recorder.seen.empty());
}
