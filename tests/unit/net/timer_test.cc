#include <doctest/doctest.h>

#include <chrono>
#include <memory>

#include "net/timer.h"
#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using test::runReady;
using test::runUntil;

namespace {

// Runs the loop until a timer armed now for `delay` has fired: one due
// before it has had its turn by then.
bool runPast(net::EventLoop& loop, std::chrono::milliseconds delay) {
  bool fired = false;
  net::Timer witness(loop, [&] { fired = true; });
  witness.arm(delay);
  return runUntil(loop, [&] { return fired; });
}

}  // namespace

TEST_CASE("timer: one never armed is not armed, cancels and goes without firing") {
  net::EventLoop loop;
  int fired = 0;
  {
    net::Timer timer(loop, [&] { ++fired; });
    CHECK_FALSE(timer.armed());
    timer.cancel();
    CHECK_FALSE(timer.armed());
    runReady(loop);
  }
  runReady(loop);
  CHECK(fired == 0);
}

TEST_CASE("timer: an armed timer fires once, and is not armed after") {
  net::EventLoop loop;
  int fired = 0;
  net::Timer timer(loop, [&] { ++fired; });
  timer.arm(1ms);
  CHECK(timer.armed());
  REQUIRE(runUntil(loop, [&] { return fired > 0; }));
  CHECK_FALSE(timer.armed());
  runReady(loop);
  CHECK(fired == 1);
}

TEST_CASE("timer: a cancelled timer does not fire, and arms again after") {
  net::EventLoop loop;
  int first = 0;
  net::Timer cancelled(loop, [&] { ++first; });
  cancelled.arm(5ms);
  cancelled.cancel();
  CHECK_FALSE(cancelled.armed());
  REQUIRE(runPast(loop, 20ms));
  CHECK(first == 0);

  cancelled.arm(1ms);
  REQUIRE(runUntil(loop, [&] { return first > 0; }));
  CHECK(first == 1);
}

TEST_CASE("timer: the callback may arm its own timer again") {
  net::EventLoop loop;
  int fired = 0;
  std::unique_ptr<net::Timer> timer;
  timer = std::make_unique<net::Timer>(loop, [&] {
    if (++fired < 3) timer->arm(1ms);
  });
  timer->arm(1ms);
  REQUIRE(runUntil(loop, [&] { return fired == 3; }));
  CHECK_FALSE(timer->armed());
}

TEST_CASE("timer: destroying an armed timer cancels it") {
  net::EventLoop loop;
  int fired = 0;
  {
    net::Timer timer(loop, [&] { ++fired; });
    timer.arm(5ms);
  }
  REQUIRE(runPast(loop, 20ms));
  CHECK(fired == 0);
}
