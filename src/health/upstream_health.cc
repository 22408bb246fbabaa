#include "health/upstream_health.h"

#include "core/log.h"
#include "core/rate_limited_log.h"
#include "core/time_text.h"
#include "net/proxy_protocol.h"

namespace fulcrum::health {
namespace {

// `proxy`: the upstream's proxy_protocol. A server that expects a PROXY
// header on its traffic port gets a LOCAL one with each check there (as
// HAProxy's check-send-proxy does by default); a check on another port is
// taken to be a plain one.
CheckSpec checkSpecOf(const config::HealthCheckConfig& config, const std::string& address_text,
                      std::optional<net::ProxyVersion> proxy) {
  CheckSpec spec;
  if (proxy && config.port == 0) spec.proxy_header = net::encodeLocalProxyHeader(*proxy);
  spec.type = config.type == config::CheckType::Http  ? CheckType::Http
              : config.type == config::CheckType::Tls ? CheckType::Tls
                                                      : CheckType::Tcp;
  spec.timeout = config.timeout;
  spec.port = config.port;
  spec.method = config.method;
  spec.path = config.path;
  spec.host = config.host.empty() ? address_text : config.host;
  spec.expect_status.clear();
  for (const auto& range : config.expect_status)
    spec.expect_status.push_back(StatusRange{range.low, range.high});
  spec.expect_body = config.expect_body;
  spec.headers = config.headers;
  spec.server_name = config.server_name;
  return spec;
}

ScheduleSpec scheduleSpecOf(const config::HealthCheckConfig& config) {
  ScheduleSpec spec;
  spec.interval = config.interval;
  spec.fast_interval = config.fast_interval.count() > 0 ? config.fast_interval : config.interval;
  spec.down_interval = config.down_interval.count() > 0 ? config.down_interval : config.interval;
  spec.jitter_percent = config.jitter_percent;
  spec.rise = config.rise;
  spec.fall = config.fall;
  spec.initially_up = config.initial_up;
  return spec;
}

OutlierSpec outlierSpecOf(const config::OutlierConfig& config) {
  return OutlierSpec{config.consecutive_5xx,
                     config.consecutive_gateway_errors,
                     config.consecutive_connect_failures,
                     config.base_ejection,
                     config.max_ejection,
                     config.max_ejection_percent,
                     !config.written};
}

// What last_check shows until a probe gives a verdict (has_verdict).
constexpr const char* kNotChecked = "not checked yet";

std::chrono::milliseconds untilPoint(std::chrono::steady_clock::time_point when) {
  auto delay =
      std::chrono::ceil<std::chrono::milliseconds>(when - std::chrono::steady_clock::now());
  return std::max(delay, std::chrono::milliseconds(0));
}

}  // namespace

UpstreamHealth::UpstreamHealth(net::EventLoop& loop, const upstream::Upstream& upstream,
                               const config::UpstreamConfig& spec, Random& random, Publish publish)
    : loop_(loop),
      upstream_(upstream),
      spec_(spec),
      random_(random),
      publish_(std::move(publish)),
      servers_(upstream.servers.size()),
      release_timer_(loop, [this] { releaseEjected(); }),
      decay_timer_(loop,
                   [this] {
                     outlier_->decay();
                     decay_timer_.arm(spec_.outlier.interval);
                   }),
      ramp_timer_(loop, [this] { refresh(true); }) {
  const bool checked = spec_.health_check.enabled;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    ServerState& state = servers_[i];
    state.check_up = !checked || spec_.health_check.initial_up;
    state.usable = state.check_up && upstream_.servers[i].weight > 0;
    state.ever_usable = state.usable;
    if (!checked) continue;
    // An address from a dns: entry is checked as the name it serves
    // (Host: NAME:PORT); an SRV target's name is not kept: its address.
    const config::ServerConfig& server = spec_.servers[i];
    const bool by_name =
        server.discovery >= 0 && spec_.discovery[static_cast<size_t>(server.discovery)].kind ==
                                     config::DiscoveryConfig::Kind::Address;
    CheckSpec check =
        checkSpecOf(spec_.health_check,
                    by_name ? server.dns_name + ":" + std::to_string(server.address.port())
                            : server.address_text,
                    spec_.proxy_protocol);
    if (upstream_.tls) {
      // Checked as its traffic connects: the same context and name.
      check.tls = upstream_.tls;
      if (check.server_name.empty()) check.server_name = upstream_.servers[i].tls_name;
    }
    state.checker = makeChecker(loop_, check);
    state.timer = std::make_unique<net::Timer>(loop_, [this, i] { startProbe(i); });
    state.last_check = kNotChecked;
  }
  if (spec_.outlier.enabled)
    outlier_ = std::make_unique<OutlierDetector>(outlierSpecOf(spec_.outlier), servers_.size());
}

UpstreamHealth::~UpstreamHealth() = default;

const char* UpstreamHealth::label(uint32_t index) const {
  return upstream_.servers[index].label.c_str();
}

void UpstreamHealth::start() {
  const auto now = Clock::now();
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    ServerState& state = servers_[i];
    if (!state.checker) continue;
    ScheduleSpec schedule = scheduleSpecOf(spec_.health_check);
    if (state.inherited) {
      // Up or down as before the reload; no first-result shortcut.
      schedule.initially_up = state.check_up;
      schedule.decided = true;
    }
    state.schedule = std::make_unique<ProbeSchedule>(schedule, random_, now);
    startProbe(i);
  }
  if (outlier_) armReleaseTimer();
  if (outlier_) decay_timer_.arm(spec_.outlier.interval);
}

void UpstreamHealth::startProbe(uint32_t index) {
  ServerState& state = servers_[index];
  state.probe_started = Clock::now();
  // The previous probe has reported; dropping it here is outside its callback.
  state.probe = state.checker->start(
      upstream_.servers[index].address,
      [this, index](const ProbeResult& result) { onProbeResult(index, result); });
}

void UpstreamHealth::onProbeResult(uint32_t index, const ProbeResult& result) {
  ServerState& state = servers_[index];
  if (result.local) {
    // Out of our own descriptors (or memory, ports): no verdict on the
    // server. Rise/fall and the pass/fail counts stay as they are; the next
    // probe comes one interval later, as it would have.
    if (state.has_verdict) state.last_check = result.why;
    state.timer->arm(state.schedule->baseInterval());
    static log::Limited limited;
    limited.warn("upstream %s: server %s: health check %s", upstream_.name.c_str(), label(index),
                 result.why.c_str());
    return;
  }
  const bool first = !state.has_verdict;
  state.has_verdict = true;
  state.last_check = result.passed ? "passed" : result.why;
  ++(result.passed ? state.checks_passed : state.checks_failed);
  Transition transition = state.schedule->record(result.passed, state.probe_started, Clock::now());
  state.timer->arm(untilPoint(state.schedule->nextStart()));
  const char* upstream = upstream_.name.c_str();
  const unsigned streak = state.schedule->state().agreeing();
  if (transition == Transition::WentDown) {
    noteTransition(
        index, "up -> down: " + std::to_string(streak) + " consecutive failures: " + result.why);
    log::warn("upstream %s: server %s %s", upstream, label(index), state.last_transition.c_str());
  } else if (transition == Transition::WentUp) {
    noteTransition(index, first ? "down -> up: first check passed"
                                : "down -> up: " + std::to_string(streak) + " consecutive passes");
    log::info("upstream %s: server %s %s", upstream, label(index), state.last_transition.c_str());
  } else if (first && !result.passed && !state.check_up) {
    noteTransition(index, "stays down: first check failed: " + result.why);
    log::warn("upstream %s: server %s %s", upstream, label(index), state.last_transition.c_str());
  }
  if (transition != Transition::None) state.check_up = transition == Transition::WentUp;
  // A first failure changes nothing, but may confirm that nothing is usable.
  if (transition != Transition::None || first) refresh(false);
}

void UpstreamHealth::report(uint32_t server, const upstream::Attempt& attempt) {
  if (!outlier_ || server >= servers_.size()) return;
  auto ejection = outlier_->report(server, attempt, Clock::now());
  if (!ejection) return;
  ServerState& state = servers_[server];
  state.ejected = true;
  ++state.ejections[static_cast<size_t>(ejection->reason)];
  noteTransition(server, "ejected for " + formatDuration(ejection->duration) + " (ejection " +
                             std::to_string(ejection->times) + "): " + ejection->why);
  log::warn("upstream %s: server %s %s", upstream_.name.c_str(), label(server),
            state.last_transition.c_str());
  armReleaseTimer();
  refresh(false);
}

void UpstreamHealth::armReleaseTimer() {
  if (auto next = outlier_->nextRelease())
    release_timer_.arm(untilPoint(*next));
  else
    release_timer_.cancel();
}

void UpstreamHealth::releaseEjected() {
  for (uint32_t index : outlier_->release(Clock::now())) {
    servers_[index].ejected = false;
    noteTransition(index, "back from ejection");
    log::info("upstream %s: server %s back from ejection", upstream_.name.c_str(), label(index));
  }
  armReleaseTimer();
  refresh(false);
}

void UpstreamHealth::setAdminDrain(uint32_t server, bool drained) {
  if (server >= servers_.size() || servers_[server].admin_drain == drained) return;
  servers_[server].admin_drain = drained;
  noteTransition(server, drained ? "drained by the admin API" : "enabled by the admin API");
  log::info("upstream %s: server %s %s by the admin API", upstream_.name.c_str(), label(server),
            drained ? "drained" : "enabled");
  refresh(false);
}

unsigned UpstreamHealth::rampPercent(const ServerState& state, Clock::time_point now) const {
  const std::chrono::nanoseconds slow_start = spec_.slow_start;
  if (slow_start.count() == 0 || !state.usable) return 100;
  const std::chrono::nanoseconds elapsed = now - state.usable_since;
  if (elapsed >= slow_start) return 100;
  // Ten steps: 10 % at once, then one more every slow_start / 9, 100 % when
  // slow_start has passed. Nanoseconds, so the step timer below lands on
  // exactly these boundaries whatever slow_start is.
  return 10 * static_cast<unsigned>(1 + elapsed.count() * 9 / slow_start.count());
}

void UpstreamHealth::refresh(bool force_publish) {
  const auto now = Clock::now();
  bool changed = force_publish;
  size_t usable = 0, down = 0, ejected = 0, drained = 0;
  // Ejection never leaves the upstream without a server: when every server
  // that could take requests is ejected, they all take them, so the first
  // one back is used at once instead of after its ejection time.
  bool any_unejected = false;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    const ServerState& state = servers_[i];
    any_unejected = any_unejected || (state.check_up && !state.ejected && !state.admin_drain &&
                                      upstream_.servers[i].weight > 0);
  }
  std::vector<bool> was(servers_.size());
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    ServerState& state = servers_[i];
    was[i] = state.usable;
    state.usable = state.check_up && (!state.ejected || !any_unejected) && !state.admin_drain &&
                   upstream_.servers[i].weight > 0;
  }
  const bool panic = applyPanicThreshold();
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    ServerState& state = servers_[i];
    if (state.usable && !was[i]) {
      // A server coming back ramps up; the first time one comes up does not.
      state.usable_since = state.ever_usable ? now : Clock::time_point{};
      state.ever_usable = true;
    }
    changed = changed || was[i] != state.usable;
  }
  if (panic != panic_) {
    panic_ = panic;
    changed = true;
    if (panic)
      log::warn(
          "upstream %s: panic: fewer than %u%% of its primaries are usable; all of them "
          "take requests",
          upstream_.name.c_str(), spec_.panic_threshold);
    else
      log::info("upstream %s: panic over: enough primaries are usable again",
                upstream_.name.c_str());
  }
  for (const ServerState& state : servers_) {
    usable += state.usable;
    down += !state.check_up;
    ejected += state.ejected;
    drained += state.admin_drain;
  }
  // Before every server has had its first check, "none usable" is not news.
  bool undecided = false;
  for (const ServerState& state : servers_)
    undecided = undecided || (state.checker && !state.has_verdict);
  // An upstream from DNS has no server until its first answer: not news.
  if (usable == 0 && had_usable_ && !undecided && !servers_.empty())
    log::error("upstream %s: no usable server (%zu down, %zu ejected, %zu drained)",
               upstream_.name.c_str(), down, ejected, drained);
  if (!undecided) had_usable_ = usable > 0;
  if (!changed) return;
  publish_(buildHostSets(), ++updates_);
}

bool UpstreamHealth::applyPanicThreshold() {
  if (spec_.panic_threshold == 0) return false;
  size_t eligible = 0, usable_primaries = 0;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    const ServerState& state = servers_[i];
    const upstream::Server& server = upstream_.servers[i];
    if (state.admin_drain || server.weight == 0) continue;  // the operator's choice stands
    if (server.backup) {
      if (state.usable) return false;  // backups come before panic
      continue;
    }
    ++eligible;
    usable_primaries += state.usable;
  }
  if (eligible == 0 || usable_primaries * 100 >= eligible * spec_.panic_threshold) return false;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    ServerState& state = servers_[i];
    const upstream::Server& server = upstream_.servers[i];
    if (!server.backup && !state.admin_drain && server.weight > 0) state.usable = true;
  }
  return true;
}

upstream::HostSets UpstreamHealth::buildHostSets() {
  upstream::HostSets sets;
  upstream::HostSet& primaries = sets.primaries;
  upstream::HostSet& backups = sets.backups;
  const auto now = Clock::now();
  bool ramping = false;
  for (const ServerState& state : servers_) ramping = ramping || rampPercent(state, now) < 100;
  std::optional<Clock::time_point> next_step;
  for (uint32_t i = 0; i < servers_.size(); ++i) {
    const ServerState& state = servers_[i];
    const upstream::Server& server = upstream_.servers[i];
    if (!state.usable) {
      if (state.ejected && state.check_up && !state.admin_drain && server.weight > 0)
        sets.standby.push_back(&server);
      continue;
    }
    const unsigned percent = rampPercent(state, now);
    // While any server ramps, every weight is in tenths so steps are exact.
    const uint32_t weight = ramping ? server.weight * percent / 10 : server.weight;
    (server.backup ? backups : primaries).add(&server, weight);
    if (percent < 100) {
      // The next boundary (percent / 10 steps are done), rounded up so the
      // timer never fires just before it.
      const int64_t slow_ns = std::chrono::nanoseconds(spec_.slow_start).count();
      const int64_t steps_done = percent / 10;
      const auto at = state.usable_since + std::chrono::nanoseconds((slow_ns * steps_done + 8) / 9);
      if (!next_step || at < *next_step) next_step = at;
    }
  }
  if (const auto& build_table = upstream_.strategy->table_builder) {
    primaries.table = build_table(primaries, upstream_.strategy_options);
    backups.table = build_table(backups, upstream_.strategy_options);
  }
  if (next_step)
    ramp_timer_.arm(untilPoint(*next_step));
  else
    ramp_timer_.cancel();  // nothing ramps any more
  return sets;
}

void UpstreamHealth::inherit(const UpstreamHealth& old, uint32_t from, uint32_t to) {
  if (from >= old.servers_.size() || to >= servers_.size()) return;
  const ServerState& before = old.servers_[from];
  ServerState& state = servers_[to];
  const bool checked = state.checker && before.checker;
  const bool outliers = outlier_ && old.outlier_;
  // Everything shown carries over, except what this config no longer does.
  static_cast<ServerView&>(state) = before;
  if (!checked) {
    state.check_up = !state.checker || spec_.health_check.initial_up;
    state.last_check = state.checker ? kNotChecked : "";
  }
  state.inherited = checked;
  state.has_verdict = checked && before.has_verdict;
  if (outliers)
    outlier_->importState(to, old.outlier_->exportState(from));
  else
    state.ejected = false;
  state.ever_usable = before.ever_usable;
  state.usable_since = before.usable_since;
  state.usable =
      state.check_up && !state.ejected && !state.admin_drain && upstream_.servers[to].weight > 0;
}

void UpstreamHealth::noteTransition(uint32_t index, std::string text) {
  servers_[index].last_transition = std::move(text);
  servers_[index].last_transition_at = Clock::now();
}

UpstreamHealth::ServerView UpstreamHealth::view(uint32_t server) const {
  const ServerState& state = servers_[server];
  ServerView view = state;
  view.ramp_percent = rampPercent(state, Clock::now());
  if (!state.checker) view.last_check = "none";
  return view;
}

}  // namespace fulcrum::health
