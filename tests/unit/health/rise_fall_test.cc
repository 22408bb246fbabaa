#include <doctest/doctest.h>

#include <string>

#include "health/rise_fall.h"

using fulcrum::health::RiseFall;
using fulcrum::health::Transition;

namespace {

// Feeds "P"/"F" results and returns the transitions as "u" (WentUp), "d"
// (WentDown) or "-" (None), one per result.
std::string feed(RiseFall& state, const std::string& results) {
  std::string out;
  for (char result : results) {
    switch (state.record(result == 'P')) {
      case Transition::None:
        out += '-';
        break;
      case Transition::WentUp:
        out += 'u';
        break;
      case Transition::WentDown:
        out += 'd';
        break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("health: rise/fall initial down comes up on the first pass alone") {
  RiseFall state(/*rise=*/3, /*fall=*/2, /*initially_up=*/false);
  CHECK_FALSE(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.record(true) == Transition::WentUp);
  CHECK(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.streak() == 0);
  CHECK(state.agreeing() == 1);
}

TEST_CASE("health: rise/fall initial down stays down on a first failure, then needs rise passes") {
  RiseFall state(/*rise=*/3, /*fall=*/2, /*initially_up=*/false);
  CHECK(state.record(false) == Transition::None);
  CHECK_FALSE(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.agreeing() == 1);
  // The first result decided; from now on rise applies.
  CHECK(state.record(true) == Transition::None);
  CHECK(state.changing());
  CHECK(state.streak() == 1);
  CHECK(state.record(true) == Transition::None);
  CHECK(state.streak() == 2);
  CHECK_FALSE(state.up());
  CHECK(state.record(true) == Transition::WentUp);
  CHECK(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.streak() == 0);
  CHECK(state.agreeing() == 3);
}

TEST_CASE("health: rise/fall initial up needs exactly fall failures in a row") {
  RiseFall state(/*rise=*/2, /*fall=*/3, /*initially_up=*/true);
  CHECK(state.up());
  CHECK(state.agreeing() == 0);
  CHECK(state.record(false) == Transition::None);
  CHECK(state.up());
  CHECK(state.changing());
  CHECK(state.streak() == 1);
  CHECK(state.record(false) == Transition::None);
  CHECK(state.up());
  CHECK(state.streak() == 2);
  CHECK(state.record(false) == Transition::WentDown);
  CHECK_FALSE(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.streak() == 0);
  CHECK(state.agreeing() == 3);
}

TEST_CASE("health: rise/fall a pass in a failure streak resets it") {
  RiseFall state(/*rise=*/2, /*fall=*/3, /*initially_up=*/true);
  CHECK(feed(state, "FFPFF") == "-----");
  CHECK(state.up());
  CHECK(state.changing());
  CHECK(state.streak() == 2);
  CHECK(feed(state, "F") == "d");
  CHECK_FALSE(state.up());
}

TEST_CASE("health: rise/fall a failure in a pass streak resets it") {
  RiseFall state(/*rise=*/3, /*fall=*/2, /*initially_up=*/true);
  CHECK(feed(state, "FF") == "-d");
  CHECK(feed(state, "PPFPP") == "-----");
  CHECK_FALSE(state.up());
  CHECK(state.streak() == 2);
  CHECK(feed(state, "P") == "u");
  CHECK(state.up());
  CHECK(state.agreeing() == 3);
}

TEST_CASE("health: rise/fall agreeing counts results that agree with a settled state") {
  RiseFall state(/*rise=*/2, /*fall=*/3, /*initially_up=*/true);
  CHECK(feed(state, "PPP") == "---");
  CHECK(state.agreeing() == 3);
  CHECK_FALSE(state.changing());
  CHECK(feed(state, "FFF") == "--d");
  CHECK(state.agreeing() == 3);
  CHECK(feed(state, "FF") == "--");
  CHECK(state.agreeing() == 5);
  CHECK_FALSE(state.changing());
}

// Contract: agreeing() is "results in a row that agree with the current
// state". A failure streak that was broken off interrupts the row.
TEST_CASE("health: rise/fall agreeing restarts after an interrupted streak") {
  RiseFall state(/*rise=*/2, /*fall=*/3, /*initially_up=*/true);
  CHECK(feed(state, "PPFP") == "----");
  CHECK(state.up());
  CHECK(state.agreeing() == 1);  // only the last P is in a row
}

TEST_CASE("health: rise/fall with rise=1 and fall=1 flips on every disagreeing result") {
  RiseFall state(/*rise=*/1, /*fall=*/1, /*initially_up=*/true);
  CHECK(feed(state, "PFFPPF") == "-d-u-d");
  CHECK_FALSE(state.up());
  CHECK_FALSE(state.changing());
  CHECK(state.streak() == 0);
  CHECK(state.agreeing() == 1);
}

TEST_CASE("health: rise/fall treats rise=0 and fall=0 as 1") {
  RiseFall state(/*rise=*/0, /*fall=*/0, /*initially_up=*/true);
  CHECK(feed(state, "FP") == "du");
}
