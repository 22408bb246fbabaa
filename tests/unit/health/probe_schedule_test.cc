#include <doctest/doctest.h>

#include <chrono>

#include "core/random.h"
#include "health/probe_schedule.h"

using namespace std::chrono_literals;
using fulcrum::Random;
using fulcrum::health::ProbeSchedule;
using fulcrum::health::ScheduleSpec;
using fulcrum::health::Transition;
using Clock = ProbeSchedule::Clock;

namespace {

const Clock::time_point kStart = Clock::time_point{} + 1000h;

ScheduleSpec distinctIntervals() {
  ScheduleSpec spec;
  spec.interval = 2000ms;
  spec.fast_interval = 500ms;
  spec.down_interval = 7000ms;
  spec.jitter_percent = 0;
  spec.rise = 2;
  spec.fall = 3;
  return spec;
}

// Records a probe that took 10ms and started at the schedule's nextStart();
// returns the delay from that start to the next one.
std::chrono::milliseconds probe(ProbeSchedule& schedule, bool passed,
                                Transition* transition = nullptr) {
  const auto started = schedule.nextStart();
  const auto result = schedule.record(passed, started, started + 10ms);
  if (transition != nullptr) *transition = result;
  return std::chrono::duration_cast<std::chrono::milliseconds>(schedule.nextStart() - started);
}

}  // namespace

TEST_CASE("health: probe schedule starts the first probe at once") {
  Random random(1);
  ProbeSchedule schedule(distinctIntervals(), random, kStart);
  CHECK(schedule.nextStart() == kStart);
}

TEST_CASE("health: probe schedule without jitter spaces probes by exactly the interval") {
  Random random(2);
  ScheduleSpec spec = distinctIntervals();
  spec.initially_up = true;
  ProbeSchedule schedule(spec, random, kStart);
  auto started = kStart;
  for (int i = 0; i < 5; ++i) {
    schedule.record(true, started, started + 30ms);
    CHECK(schedule.nextStart() == started + 2000ms);
    started = schedule.nextStart();
  }
}

TEST_CASE(
    "health: probe schedule jitter stays within +-jitter of the interval and uses both sides") {
  Random random(42);
  ScheduleSpec spec = distinctIntervals();
  spec.initially_up = true;
  spec.jitter_percent = 10;
  ProbeSchedule schedule(spec, random, kStart);
  int shorter = 0, longer = 0;
  std::chrono::milliseconds low = 1h, high = 0ms;
  for (int i = 0; i < 2000; ++i) {
    const auto delay = probe(schedule, true);
    CHECK(delay >= 1800ms);
    CHECK(delay <= 2200ms);
    shorter += delay < 2000ms;
    longer += delay > 2000ms;
    low = std::min(low, delay);
    high = std::max(high, delay);
  }
  CHECK(shorter > 500);
  CHECK(longer > 500);
  // The range is covered close to its ends, not just around the middle.
  CHECK(low < 1820ms);
  CHECK(high > 2180ms);
}

TEST_CASE("health: probe schedule jitter applies to the down and fast intervals too") {
  Random random(9);
  ScheduleSpec spec = distinctIntervals();
  spec.jitter_percent = 50;
  ProbeSchedule schedule(spec, random, kStart);
  // Initially down, first failure: settled down.
  const auto down_delay = probe(schedule, false);
  CHECK(down_delay >= 3500ms);
  CHECK(down_delay <= 10500ms);
  // One pass of two: changing.
  const auto fast_delay = probe(schedule, true);
  CHECK(fast_delay >= 250ms);
  CHECK(fast_delay <= 750ms);
}

TEST_CASE(
    "health: probe schedule uses fast_interval while a streak runs, else interval or "
    "down_interval") {
  Random random(3);
  ProbeSchedule schedule(distinctIntervals(), random, kStart);  // initially down
  CHECK(schedule.baseInterval() == 7000ms);
  Transition transition = Transition::None;

  // The first result decides; a failure leaves it settled down.
  CHECK(probe(schedule, false, &transition) == 7000ms);
  CHECK(transition == Transition::None);
  CHECK_FALSE(schedule.state().up());

  // Down with 1 pass of rise=2: changing.
  CHECK(probe(schedule, true, &transition) == 500ms);
  CHECK(transition == Transition::None);
  CHECK(schedule.baseInterval() == 500ms);
  // The streak breaks: settled down again.
  CHECK(probe(schedule, false) == 7000ms);
  CHECK(probe(schedule, true) == 500ms);
  CHECK(probe(schedule, true, &transition) == 2000ms);
  CHECK(transition == Transition::WentUp);
  CHECK(schedule.state().up());

  // Up: failures 1 and 2 of fall=3 are fast, the third takes it down.
  CHECK(probe(schedule, false) == 500ms);
  CHECK(probe(schedule, false) == 500ms);
  CHECK(probe(schedule, false, &transition) == 7000ms);
  CHECK(transition == Transition::WentDown);
  CHECK_FALSE(schedule.state().up());
}

TEST_CASE("health: probe schedule initially up starts at interval") {
  Random random(4);
  ScheduleSpec spec = distinctIntervals();
  spec.initially_up = true;
  ProbeSchedule schedule(spec, random, kStart);
  CHECK(schedule.baseInterval() == 2000ms);
  CHECK(probe(schedule, true) == 2000ms);
  CHECK(probe(schedule, false) == 500ms);
}

TEST_CASE("health: probe schedule initially down comes up on the first pass") {
  Random random(5);
  ProbeSchedule schedule(distinctIntervals(), random, kStart);
  Transition transition = Transition::None;
  CHECK(probe(schedule, true, &transition) == 2000ms);
  CHECK(transition == Transition::WentUp);
  CHECK(schedule.state().up());
}

TEST_CASE("health: probe schedule starts the next probe when a long one ends, never overlapping") {
  Random random(6);
  ScheduleSpec spec = distinctIntervals();
  spec.initially_up = true;
  ProbeSchedule schedule(spec, random, kStart);
  const auto started = kStart;
  const auto ended = started + 3500ms;  // longer than the 2s interval
  schedule.record(true, started, ended);
  CHECK(schedule.nextStart() == ended);
  // A probe that ends exactly at the interval changes nothing.
  schedule.record(true, ended, ended + 2000ms);
  CHECK(schedule.nextStart() == ended + 2000ms);
}

TEST_CASE("health: probe schedule with jitter never starts before a long probe ends") {
  Random random(8);
  ScheduleSpec spec = distinctIntervals();
  spec.initially_up = true;
  spec.jitter_percent = 10;
  ProbeSchedule schedule(spec, random, kStart);
  auto started = kStart;
  for (int i = 0; i < 200; ++i) {
    const auto ended = started + 2100ms;  // inside the jitter range
    schedule.record(true, started, ended);
    CHECK(schedule.nextStart() >= ended);
    CHECK(schedule.nextStart() <= started + 2200ms);
    started = schedule.nextStart();
  }
}
