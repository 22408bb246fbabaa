#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <vector>

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

// A timer's event goes back to its loop when the timer goes, and the next
// timer armed takes it: the event must then call the new timer, never the
// one that is gone (it was pending when that one went).
TEST_CASE("timer: an event given back by a timer that went while armed calls only its next timer") {
  net::EventLoop loop;
  int gone_fired = 0;
  int next_fired = 0;
  {
    net::Timer gone(loop, [&] { ++gone_fired; });
    gone.arm(1ms);
    CHECK(gone.armed());
  }
  net::Timer next(loop, [&] { ++next_fired; });
  CHECK_FALSE(next.armed());
  next.arm(1ms);
  CHECK(next.armed());
  CHECK(runUntil(loop, [&] { return next_fired == 1; }));
  CHECK(runPast(loop, 5ms));
  CHECK(gone_fired == 0);
  CHECK(next_fired == 1);
  CHECK_FALSE(next.armed());
  // Re-armed from the same event, it fires again.
  next.arm(1ms);
  CHECK(runUntil(loop, [&] { return next_fired == 2; }));
  CHECK(gone_fired == 0);
}

TEST_CASE("timer: many timers made, armed and gone in turn all fire their own callbacks") {
  net::EventLoop loop;
  std::vector<int> fired(200, 0);
  for (size_t round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<net::Timer>> timers;
    for (size_t i = round * 100; i < (round + 1) * 100; ++i) {
      timers.push_back(std::make_unique<net::Timer>(loop, [&fired, i] { ++fired[i]; }));
      timers.back()->arm(1ms);
    }
    CHECK(runUntil(loop, [&] {
      for (size_t i = round * 100; i < (round + 1) * 100; ++i)
        if (fired[i] == 0) return false;
      return true;
    }));
  }
  CHECK(runPast(loop, 5ms));
  for (int count : fired) CHECK(count == 1);
}

TEST_CASE("timer: re-armed later while its event waits, it fires at the later deadline only") {
  net::EventLoop loop;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::chrono::steady_clock::duration> fired_at;
  net::Timer timer(loop, [&] { fired_at.push_back(std::chrono::steady_clock::now() - start); });
  timer.arm(30ms);
  timer.cancel();
  timer.arm(120ms);  // the event for 30 ms still waits: it fires, then waits on
  CHECK(timer.armed());
  REQUIRE(runPast(loop, 60ms));
  CHECK(fired_at.empty());
  CHECK(timer.armed());
  REQUIRE(runUntil(loop, [&] { return !fired_at.empty(); }));
  CHECK(fired_at.size() == 1);
  CHECK(fired_at.front() >= 119ms);
  CHECK_FALSE(timer.armed());
}

TEST_CASE("timer: re-armed sooner, it fires at the sooner deadline") {
  net::EventLoop loop;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration fired_at{};
  int fired = 0;
  net::Timer timer(loop, [&] {
    ++fired;
    fired_at = std::chrono::steady_clock::now() - start;
  });
  timer.arm(10s);
  timer.arm(20ms);
  REQUIRE(runUntil(loop, [&] { return fired > 0; }));
  CHECK(fired == 1);
  CHECK(fired_at >= 19ms);
  CHECK(fired_at < 5s);
}

TEST_CASE("timer: cancelled while its event waits, the event's firing calls nothing") {
  net::EventLoop loop;
  int fired = 0;
  net::Timer timer(loop, [&] { ++fired; });
  timer.arm(20ms);
  timer.cancel();
  CHECK_FALSE(timer.armed());
  REQUIRE(runPast(loop, 60ms));
  CHECK(fired == 0);
  timer.arm(10ms);  // and it arms again after
  REQUIRE(runUntil(loop, [&] { return fired == 1; }));
}
