// When one server's next health probe starts, and what its results mean
// (rise/fall). Pure: the caller passes the times, so tests drive it with a
// manual clock and the control loop with the real one.
//  - interval while the state is settled and up, down_interval while it is
//    settled and down, fast_interval while a streak toward the other state
//    runs (so a change is confirmed quickly);
//  - each delay is jittered by +-jitter_percent so the checks of many
//    servers (and many proxies) do not fire in lockstep;
//  - probes are spaced start to start; one that outlives the interval is
//    followed at once when it ends (never two at a time).
#pragma once

#include <chrono>

#include "core/random.h"
#include "health/rise_fall.h"

namespace fulcrum::health {

struct ScheduleSpec {
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds fast_interval{2000};
  std::chrono::milliseconds down_interval{2000};
  unsigned jitter_percent = 10;
  unsigned rise = 2;
  unsigned fall = 3;
  bool initially_up = false;
  bool decided = false;  // carried over a reload: no "first result decides"
};

class ProbeSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  // The first probe starts at `now`. `random` must outlive the schedule.
  ProbeSchedule(const ScheduleSpec& spec, Random& random, Clock::time_point now);

  // A probe that started at `started` ended at `ended`. Moves nextStart().
  Transition record(bool passed, Clock::time_point started, Clock::time_point ended);

  Clock::time_point nextStart() const { return next_start_; }
  // The un-jittered interval the state calls for now.
  std::chrono::milliseconds baseInterval() const;
  const RiseFall& state() const { return state_; }

 private:
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);

  ScheduleSpec spec_;
  Random& random_;
  RiseFall state_;
  Clock::time_point next_start_;
};

}  // namespace fulcrum::health
