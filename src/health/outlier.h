// Passive outlier detection for one upstream: counts each server's failures
// in a row from real traffic and ejects a server that crosses a threshold,
// for base_ejection * times ejected (capped by max_ejection). Never more than
// max_ejection_percent of the servers are out at once, but one can always
// be. Every interval, a server that is in has its ejection count lowered,
// so an old incident stops lengthening new ejections.
// Pure: no clock, no I/O; the control loop passes the time and applies the
// decisions. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "upstream/attempt_report.h"

namespace fulcrum::health {

struct OutlierSpec {
  unsigned consecutive_5xx = 5;             // 0 = off
  unsigned consecutive_gateway_errors = 0;  // 0 = off
  unsigned consecutive_connect_failures = 5;
  std::chrono::milliseconds base_ejection{30000};
  std::chrono::milliseconds max_ejection{300000};
  unsigned max_ejection_percent = 10;
  // The upstream has no outlier_detection block: its connect-failure
  // ejections are the default rule's, labelled apart so an operator can
  // tell them from the rules they wrote.
  bool default_rule = false;
};

// The threshold an ejection crossed. Logic compares these; their names are
// for logs and metric labels only.
enum class EjectionReason : uint8_t {
  Errors5xx,               // consecutive_5xx
  GatewayErrors,           // consecutive_gateway_errors
  ConnectFailures,         // consecutive_connect_failures, written
  DefaultConnectFailures,  // the same rule, on by default without a block
  Count,
};

// "5xx", "gateway", "connect", "connect_default": the reason label of
// fulcrum_outlier_ejections_total.
const char* ejectionReasonName(EjectionReason reason);

class OutlierDetector {
 public:
  using Clock = std::chrono::steady_clock;

  struct Ejection {
    uint32_t server = 0;
    std::chrono::milliseconds duration{0};
    unsigned times = 0;  // this server's ejection count, this one included
    std::string why;     // for people: "5 consecutive 5xx"
    EjectionReason reason = EjectionReason::Errors5xx;
  };

  OutlierDetector(const OutlierSpec& spec, size_t servers);

  // An ejection when this report tips the server over a threshold (and the
  // cap allows it). Reports about an ejected server are ignored.
  std::optional<Ejection> report(uint32_t server, const upstream::Attempt& attempt,
                                 Clock::time_point now);
  // Servers whose ejection is over by `now`; they are in again.
  std::vector<uint32_t> release(Clock::time_point now);
  // When the earliest ejection ends; nullopt when none is out.
  std::optional<Clock::time_point> nextRelease() const;
  // Once per interval.
  void decay();

  // One server's counts and ejection, to carry over a reload.
  struct ServerState {
    unsigned errors_5xx = 0;
    unsigned gateway_errors = 0;
    unsigned connect_failures = 0;
    unsigned times_ejected = 0;
    bool ejected = false;
    Clock::time_point until;
  };
  ServerState exportState(uint32_t server) const { return servers_[server]; }
  void importState(uint32_t server, const ServerState& state);

  bool ejected(uint32_t server) const { return servers_[server].ejected; }
  unsigned timesEjected(uint32_t server) const { return servers_[server].times_ejected; }
  size_t ejectedCount() const { return ejected_count_; }
  // The most servers that may be out at once.
  size_t cap() const;
  // Thresholds crossed while the cap was reached (the server stayed in).
  uint64_t capRefusals() const { return cap_refusals_; }

 private:
  using State = ServerState;
  // The threshold crossed, if any: {why, reason}.
  std::optional<std::pair<std::string, EjectionReason>> crossed(const State& state) const;

  OutlierSpec spec_;
  std::vector<State> servers_;
  size_t ejected_count_ = 0;
  uint64_t cap_refusals_ = 0;
};

}  // namespace fulcrum::health
