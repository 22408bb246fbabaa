#include "health/outlier.h"

#include <algorithm>

namespace fulcrum::health {

const char* ejectionReasonName(EjectionReason reason) {
  switch (reason) {
    case EjectionReason::Errors5xx:
      return "5xx";
    case EjectionReason::GatewayErrors:
      return "gateway";
    case EjectionReason::ConnectFailures:
      return "connect";
    case EjectionReason::DefaultConnectFailures:
      return "connect_default";
    case EjectionReason::Count:
      break;
  }
  return "unknown";
}

OutlierDetector::OutlierDetector(const OutlierSpec& spec, size_t servers)
    : spec_(spec), servers_(servers) {}

size_t OutlierDetector::cap() const {
  return std::max<size_t>(1, servers_.size() * spec_.max_ejection_percent / 100);
}

std::optional<std::pair<std::string, EjectionReason>> OutlierDetector::crossed(
    const State& state) const {
  auto over = [](unsigned count, unsigned threshold) {
    return threshold > 0 && count >= threshold;
  };
  if (over(state.connect_failures, spec_.consecutive_connect_failures))
    return std::pair{std::to_string(state.connect_failures) + " consecutive connect failures",
                     spec_.default_rule ? EjectionReason::DefaultConnectFailures
                                        : EjectionReason::ConnectFailures};
  if (over(state.gateway_errors, spec_.consecutive_gateway_errors))
    return std::pair{std::to_string(state.gateway_errors) + " consecutive gateway errors",
                     EjectionReason::GatewayErrors};
  if (over(state.errors_5xx, spec_.consecutive_5xx))
    return std::pair{std::to_string(state.errors_5xx) + " consecutive 5xx",
                     EjectionReason::Errors5xx};
  return std::nullopt;
}

std::optional<OutlierDetector::Ejection> OutlierDetector::report(uint32_t server,
                                                                 const upstream::Attempt& attempt,
                                                                 Clock::time_point now) {
  if (server >= servers_.size()) return std::nullopt;
  State& state = servers_[server];
  if (state.ejected) return std::nullopt;
  switch (attempt.outcome) {
    case upstream::AttemptOutcome::ConnectFailure:
      ++state.connect_failures;
      break;
    case upstream::AttemptOutcome::Connected:
      state.connect_failures = 0;
      break;
    case upstream::AttemptOutcome::Reset:
    case upstream::AttemptOutcome::Timeout:
      state.connect_failures = 0;
      ++state.errors_5xx;
      ++state.gateway_errors;
      break;
    case upstream::AttemptOutcome::Response: {
      state.connect_failures = 0;
      const bool gateway = attempt.status >= 502 && attempt.status <= 504;
      if (attempt.status >= 500) {
        ++state.errors_5xx;
        state.gateway_errors = gateway ? state.gateway_errors + 1 : 0;
      } else {
        state.errors_5xx = 0;
        state.gateway_errors = 0;
      }
      break;
    }
  }
  auto why = crossed(state);
  if (!why) return std::nullopt;
  if (ejected_count_ >= cap()) {
    // Stay in; the next failure asks again (the streak is kept).
    ++cap_refusals_;
    return std::nullopt;
  }
  state = State{0, 0, 0, state.times_ejected + 1, true, {}};
  auto duration = std::min(spec_.base_ejection * state.times_ejected, spec_.max_ejection);
  state.until = now + duration;
  ++ejected_count_;
  return Ejection{server, duration, state.times_ejected, why->first, why->second};
}

std::vector<uint32_t> OutlierDetector::release(Clock::time_point now) {
  std::vector<uint32_t> released;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    State& state = servers_[i];
    if (!state.ejected || state.until > now) continue;
    state.ejected = false;
    --ejected_count_;
    released.push_back(i);
  }
  return released;
}

std::optional<OutlierDetector::Clock::time_point> OutlierDetector::nextRelease() const {
  std::optional<Clock::time_point> earliest;
  for (const State& state : servers_)
    if (state.ejected && (!earliest || state.until < *earliest)) earliest = state.until;
  return earliest;
}

void OutlierDetector::importState(uint32_t server, const ServerState& state) {
  if (server >= servers_.size()) return;
  if (servers_[server].ejected) --ejected_count_;
  servers_[server] = state;
  if (state.ejected) ++ejected_count_;
}

void OutlierDetector::decay() {
  for (State& state : servers_)
    if (!state.ejected && state.times_ejected > 0) --state.times_ejected;
}

}  // namespace fulcrum::health
