// IdleWaits, a worker's count of sessions waiting for their next request:
// the first kMostPatientWaits wait kParkDelay before they park; while more
// than that wait at once, the ones that start waiting park after
// kCrowdedParkDelay; as sessions stop waiting the patient delay comes back.
#include <doctest/doctest.h>

#include <vector>

#include "http/parking.h"

using namespace fulcrum::http;

TEST_CASE("parking: a crowd of waiting sessions parks sooner, and the count comes back") {
  static_assert(kCrowdedParkDelay < kParkDelay);
  IdleWaits waits;
  std::vector<std::chrono::milliseconds> delays;
  for (size_t n = 0; n < kMostPatientWaits + 3; ++n) delays.push_back(waits.started());
  CHECK(waits.waiting() == kMostPatientWaits + 3);
  for (size_t n = 0; n < kMostPatientWaits; ++n) REQUIRE(delays[n] == kParkDelay);
  CHECK(delays[kMostPatientWaits] == kCrowdedParkDelay);
  CHECK(delays[kMostPatientWaits + 2] == kCrowdedParkDelay);

  // Still crowded until the count is back at the bound.
  for (int n = 0; n < 3; ++n) waits.ended();
  CHECK(waits.waiting() == kMostPatientWaits);
  CHECK(waits.started() == kCrowdedParkDelay);
  waits.ended();
  waits.ended();
  CHECK(waits.started() == kParkDelay);

  while (waits.waiting() > 0) waits.ended();
  CHECK(waits.started() == kParkDelay);
}
