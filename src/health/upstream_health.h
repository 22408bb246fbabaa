// The health of one upstream's servers, owned by the control loop (main
// thread): active checks (one probe and one timer per server), passive
// outlier ejection from the workers' reports, the admin drain flag, and the
// slow-start ramp. A server is usable when no check has failed it, it is not
// ejected, it is not drained and its weight is not 0. Whenever that changes
// (or a ramp step passes) it builds new immutable HostSets and hands them to
// `publish`, which posts them to every worker; workers never see this
// object. Every transition is logged on one line with its reason.
// Lifetime: the Upstream (in its Runtime) and the loop outlive this object;
// destroying it cancels every probe and timer.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "core/random.h"
#include "health/checker.h"
#include "health/outlier.h"
#include "health/probe_schedule.h"
#include "net/event_loop.h"
#include "net/timer.h"
#include "upstream/attempt_report.h"
#include "upstream/upstream.h"

namespace fulcrum::health {

class UpstreamHealth {
 public:
  using Clock = std::chrono::steady_clock;
  // `update` counts this upstream's publications from 1, for the logs.
  using Publish = std::function<void(upstream::HostSets hosts, uint64_t update)>;

  UpstreamHealth(net::EventLoop& loop, const upstream::Upstream& upstream,
                 const config::UpstreamConfig& spec, Random& random, Publish publish);
  ~UpstreamHealth();
  UpstreamHealth(const UpstreamHealth&) = delete;
  UpstreamHealth& operator=(const UpstreamHealth&) = delete;

  // Starts the first probe of every server.
  void start();
  // An attempt result from a worker's data path.
  void report(uint32_t server, const upstream::Attempt& attempt);
  // The admin API's drain flag: no new picks while set.
  void setAdminDrain(uint32_t server, bool drained);

  struct ServerView {
    bool check_up = true;  // true when no check is configured
    bool ejected = false;
    bool admin_drain = false;
    bool usable = false;
    unsigned ramp_percent = 100;  // slow start
    std::string last_check;       // the last probe's result text
    std::string last_transition;  // "up -> down: ...", empty before the first
    Clock::time_point last_transition_at;
    uint64_t checks_passed = 0;
    uint64_t checks_failed = 0;
    // By EjectionReason.
    std::array<uint64_t, static_cast<size_t>(EjectionReason::Count)> ejections{};
  };
  ServerView view(uint32_t server) const;
  // panic_threshold crossed: every primary takes requests, failing ones too.
  bool panic() const { return panic_; }

  // Carries server `from` of `old` (same upstream and address, the config
  // before a reload) into server `to`: check state, ejection, admin drain,
  // slow-start clock, counts. Before start().
  void inherit(const UpstreamHealth& old, uint32_t from, uint32_t to);
  // Publishes the current HostSets (after a reload, for the new workers'
  // generation).
  void publishNow() { refresh(true); }

  // The HostSets the upstream would publish now, for the initial ones too.
  upstream::HostSets buildHostSets();

 private:
  // What view() shows, plus what only this object needs.
  struct ServerState : ServerView {
    std::unique_ptr<Checker> checker;
    std::unique_ptr<ProbeSchedule> schedule;
    std::unique_ptr<Probe> probe;
    std::unique_ptr<net::Timer> timer;
    Clock::time_point probe_started;
    bool ever_usable = false;
    Clock::time_point usable_since;  // for the slow-start ramp
    bool inherited = false;          // its check state came over a reload
    // A probe has passed or failed it (last_check says how, for people).
    // Until then "no usable server" is not news, and the first verdict is
    // logged as the first.
    bool has_verdict = false;
  };
  void noteTransition(uint32_t index, std::string text);

  void startProbe(uint32_t index);
  void onProbeResult(uint32_t index, const ProbeResult& result);
  void releaseEjected();
  void armReleaseTimer();
  // Recomputes usability; logs and publishes when anything changed.
  void refresh(bool force_publish);
  // Below panic_threshold: makes every primary usable; true when it did.
  bool applyPanicThreshold();
  unsigned rampPercent(const ServerState& state, Clock::time_point now) const;
  const char* label(uint32_t index) const;

  net::EventLoop& loop_;
  const upstream::Upstream& upstream_;
  const config::UpstreamConfig& spec_;
  Random& random_;
  Publish publish_;
  std::vector<ServerState> servers_;
  std::unique_ptr<OutlierDetector> outlier_;
  net::Timer release_timer_;  // the next end of an ejection
  net::Timer decay_timer_;    // outlier_detection.interval
  net::Timer ramp_timer_;     // the next slow-start step
  bool had_usable_ = true;
  bool panic_ = false;
  uint64_t updates_ = 0;
};

}  // namespace fulcrum::health
