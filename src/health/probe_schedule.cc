#include "health/probe_schedule.h"

#include <algorithm>

namespace fulcrum::health {

ProbeSchedule::ProbeSchedule(const ScheduleSpec& spec, Random& random, Clock::time_point now)
    : spec_(spec),
      random_(random),
      state_(spec.rise, spec.fall, spec.initially_up, spec.decided),
      next_start_(now) {}

std::chrono::milliseconds ProbeSchedule::baseInterval() const {
  if (state_.changing()) return spec_.fast_interval;
  return state_.up() ? spec_.interval : spec_.down_interval;
}

std::chrono::milliseconds ProbeSchedule::jittered(std::chrono::milliseconds base) {
  const int64_t span = base.count() * std::min(spec_.jitter_percent, 100u) / 100;
  if (span <= 0) return base;
  const auto offset =
      static_cast<int64_t>(random_.below(static_cast<uint64_t>(2 * span + 1))) - span;
  return std::chrono::milliseconds(std::max<int64_t>(base.count() + offset, 1));
}

Transition ProbeSchedule::record(bool passed, Clock::time_point started, Clock::time_point ended) {
  Transition transition = state_.record(passed);
  next_start_ = std::max(started + jittered(baseInterval()), ended);
  return transition;
}

}  // namespace fulcrum::health
