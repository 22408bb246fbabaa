// UpstreamHealth on a real EventLoop run by the test thread: the upstream
// and its config come from YAML (loadConfigText + Runtime::build), the
// publish callback records every HostSet pair it is handed, and every run
// of the loop is bounded by a Timer deadline that fails the test.
#include <doctest/doctest.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/runtime.h"
#include "core/random.h"
#include "health/upstream_health.h"
#include "net/event_loop.h"
#include "net/timer.h"
#include "support/configs.h"
#include "support/net.h"
#include "upstream/attempt_report.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using health::UpstreamHealth;
using upstream::Attempt;
using upstream::AttemptOutcome;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kRunDeadline = 5s;

// `upstream_body` is the YAML under `upstreams: pool:`, indented by 4.
std::shared_ptr<const app::Runtime> buildRuntime(const std::string& upstream_body) {
  const std::string yaml =
      "listeners:\n"
      "  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
      "upstreams:\n"
      "  pool:\n" +
      upstream_body;
  std::string why;
  auto runtime = app::Runtime::build(test::loadValidConfig(yaml), why);
  REQUIRE_MESSAGE(runtime != nullptr, why);
  REQUIRE(runtime->upstreams().size() == 1);
  return runtime;
}

std::string servers(const std::vector<std::string>& lines) {
  std::string text = "    servers:\n";
  for (const auto& line : lines) text += "      - " + line + "\n";
  return text;
}

std::string loopbackServer(uint16_t port, unsigned weight = 1) {
  return "{ address: 127.0.0.1:" + std::to_string(port) + ", weight: " + std::to_string(weight) +
         " }";
}

struct Publication {
  upstream::HostSet primaries;
  upstream::HostSet backups;
  std::vector<const upstream::Server*> standby;
  uint64_t update = 0;
  Clock::time_point at;
  std::vector<UpstreamHealth::ServerView> views;  // of every server, when it was published
};

std::vector<uint32_t> indexesOf(const upstream::HostSet& set) {
  std::vector<uint32_t> indexes;
  for (const upstream::Server* server : set.hosts) indexes.push_back(server->index);
  return indexes;
}

bool contains(const upstream::HostSet& set, uint32_t index) {
  for (const upstream::Server* server : set.hosts)
    if (server->index == index) return true;
  return false;
}

struct ThreadsEnabled {
  ThreadsEnabled() { net::EventLoop::enableThreads(); }
};

// One upstream's health on a loop owned by the test. Publications are
// recorded with the views of every server at that moment. Members are
// destroyed in reverse: the health (its probes and timers) before the
// runtime and the loop it points into.
struct Harness : ThreadsEnabled {
  explicit Harness(const std::string& upstream_body)
      : runtime(buildRuntime(upstream_body)),
        deadline(loop,
                 [this] {
                   timed_out = true;
                   loop.stop();
                 }),
        pause(loop, [this] { loop.stop(); }) {
    health = std::make_unique<UpstreamHealth>(
        loop, upstream(), spec(), random, [this](upstream::HostSets hosts, uint64_t update) {
          Publication publication{std::move(hosts.primaries),
                                  std::move(hosts.backups),
                                  std::move(hosts.standby),
                                  update,
                                  Clock::now(),
                                  {}};
          for (uint32_t i = 0; i < upstream().servers.size(); ++i)
            publication.views.push_back(health->view(i));
          published.push_back(std::move(publication));
          if (stop_when && stop_when()) loop.stop();
        });
  }

  const upstream::Upstream& upstream() const { return runtime->upstreams()[0]; }
  const config::UpstreamConfig& spec() const { return runtime->config().upstreams[0]; }

  // Runs the loop until `done` holds after a publication; fails the test
  // at the deadline. Returns whether `done` held.
  bool runUntil(std::function<bool()> done, std::chrono::milliseconds limit = kRunDeadline) {
    if (done()) return true;
    stop_when = std::move(done);
    timed_out = false;
    deadline.arm(limit);
    loop.run();
    deadline.cancel();
    const bool held = stop_when();
    stop_when = nullptr;
    CHECK_MESSAGE(!timed_out, "the loop hit its " << limit.count() << "ms deadline");
    return held;
  }

  // Runs the loop for `period` whatever happens (to see that nothing does).
  void runFor(std::chrono::milliseconds period) {
    pause.arm(period);
    loop.run();
  }

  // One non-blocking pass: whatever is already due (posted work, 0ms timers) runs.
  void flush() { event_base_loop(loop.base(), EVLOOP_NONBLOCK); }

  net::EventLoop loop;
  std::shared_ptr<const app::Runtime> runtime;
  Random random{42};
  std::vector<Publication> published;
  std::function<bool()> stop_when;
  bool timed_out = false;
  net::Timer deadline;
  net::Timer pause;
  std::unique_ptr<UpstreamHealth> health;
};

// The slow-start percent of server 0 in a two-server set where server 0 has
// weight 2 and server 1 weight 1: while ramping every weight is in tenths
// (server 1 -> 10, server 0 -> 2 * percent / 10); plain weights mean 100.
unsigned percentOfServer0(const Publication& publication) {
  const auto& weights = publication.primaries.weights;
  REQUIRE(indexesOf(publication.primaries) == std::vector<uint32_t>{0, 1});
  REQUIRE(weights.size() == 2);
  if (weights[0] == 2 && weights[1] == 1) return 100;
  REQUIRE_MESSAGE(weights[1] == 10, "server 1 is not in tenths: " << weights[1]);
  return weights[0] * 10 / 2;
}

std::string joined(const std::vector<unsigned>& numbers) {
  std::string text;
  for (unsigned number : numbers) text += (text.empty() ? "" : " ") + std::to_string(number);
  return text;
}

const std::vector<unsigned> kEveryStep{10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

const char* kSlowStartUpstream =
    "    balance: least_conn\n"
    "    slow_start: 900ms\n"
    "    servers:\n"
    "      - { address: 127.0.0.1:9001, weight: 2 }\n"
    "      - { address: 127.0.0.1:9002, weight: 1 }\n";

}  // namespace

// --- admin drain -----------------------------------------------------------

TEST_CASE("health: upstream admin drain removes the server and enabling brings it back") {
  Harness harness(
      "    balance: weighted_round_robin\n" +
      servers({"{ address: 127.0.0.1:9001, weight: 3 }", "{ address: 127.0.0.1:9002, weight: 2 }",
               "{ address: 127.0.0.1:9003, weight: 1 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  harness.flush();
  CHECK(harness.published.empty());  // no check, nothing changed: nothing to say

  const upstream::HostSets sets = health.buildHostSets();
  CHECK(indexesOf(sets.primaries) == std::vector<uint32_t>{0, 1, 2});
  CHECK(sets.primaries.weights == std::vector<uint32_t>{3, 2, 1});
  CHECK(sets.backups.hosts.empty());

  health.setAdminDrain(1, true);
  REQUIRE(harness.published.size() == 1);
  {
    const Publication& drained = harness.published[0];
    CHECK(drained.update == 1);
    CHECK(indexesOf(drained.primaries) == std::vector<uint32_t>{0, 2});
    CHECK(drained.primaries.weights == std::vector<uint32_t>{3, 1});
    CHECK(drained.backups.hosts.empty());
  }
  CHECK(health.view(1).admin_drain);
  CHECK_FALSE(health.view(1).usable);
  CHECK(health.view(1).check_up);  // draining is not a failed check
  CHECK(health.view(0).usable);
  CHECK_FALSE(health.view(0).admin_drain);

  health.setAdminDrain(1, true);  // already drained
  harness.flush();
  CHECK(harness.published.size() == 1);

  health.setAdminDrain(1, false);
  REQUIRE(harness.published.size() == 2);
  {
    const Publication& enabled = harness.published[1];
    CHECK(enabled.update == 2);
    CHECK(indexesOf(enabled.primaries) == std::vector<uint32_t>{0, 1, 2});
    CHECK(enabled.primaries.weights == std::vector<uint32_t>{3, 2, 1});
  }
  CHECK_FALSE(health.view(1).admin_drain);
  CHECK(health.view(1).usable);
  CHECK(health.view(1).ramp_percent == 100);  // no slow_start configured

  health.setAdminDrain(1, false);  // already enabled
  harness.flush();
  CHECK(harness.published.size() == 2);
}

TEST_CASE("health: upstream admin drain of a backup changes only the backups") {
  Harness harness(servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }",
                           "{ address: 127.0.0.1:9003, backup: true }"}));
  harness.health->start();
  harness.health->setAdminDrain(2, true);
  REQUIRE(harness.published.size() == 1);
  CHECK(indexesOf(harness.published[0].primaries) == std::vector<uint32_t>{0, 1});
  CHECK(harness.published[0].backups.hosts.empty());
  harness.health->setAdminDrain(2, false);
  REQUIRE(harness.published.size() == 2);
  CHECK(indexesOf(harness.published[1].backups) == std::vector<uint32_t>{2});
  CHECK(harness.published[1].backups.weights == std::vector<uint32_t>{1});
}

TEST_CASE("health: upstream ignores a drain of a server it does not have") {
  Harness harness(servers({"{ address: 127.0.0.1:9001 }"}));
  harness.health->setAdminDrain(7, true);
  harness.flush();
  CHECK(harness.published.empty());
}

TEST_CASE("health: upstream never publishes a server with weight 0") {
  Harness harness(
      servers({"{ address: 127.0.0.1:9001, weight: 0 }", "{ address: 127.0.0.1:9002 }"}));
  UpstreamHealth& health = *harness.health;
  CHECK_FALSE(health.view(0).usable);
  health.setAdminDrain(0, true);
  health.setAdminDrain(0, false);
  harness.flush();
  CHECK(harness.published.empty());  // it was never usable, so nothing changed
  CHECK_FALSE(health.view(0).usable);
  health.setAdminDrain(1, true);
  REQUIRE(harness.published.size() == 1);
  CHECK(harness.published[0].primaries.hosts.empty());
}

// --- slow start ------------------------------------------------------------

TEST_CASE("health: upstream slow start ramps an enabled server from 10 to 100 percent") {
  Harness harness(kSlowStartUpstream);
  UpstreamHealth& health = *harness.health;
  health.start();

  health.setAdminDrain(0, true);
  REQUIRE(harness.published.size() == 1);
  CHECK(indexesOf(harness.published[0].primaries) == std::vector<uint32_t>{1});
  CHECK(harness.published[0].primaries.weights == std::vector<uint32_t>{1});  // nothing ramps

  const auto enabled_at = Clock::now();
  health.setAdminDrain(0, false);
  REQUIRE(harness.published.size() == 2);
  const Publication& first = harness.published[1];
  CHECK(indexesOf(first.primaries) == std::vector<uint32_t>{0, 1});
  // 10 %: server 0 -> 2 * 10 / 10, server 1 (not ramping) -> 1 * 10.
  CHECK(first.primaries.weights == std::vector<uint32_t>{2, 10});
  CHECK(first.views[0].ramp_percent == 10);
  CHECK(first.views[0].usable);
  CHECK(first.views[1].ramp_percent == 100);

  // The ramp timer publishes every step until the plain weights are back.
  const bool finished = harness.runUntil([&] {
    return harness.published.back().primaries.weights == std::vector<uint32_t>{2, 1};
  });
  REQUIRE(finished);
  const Publication& last = harness.published.back();
  CHECK(last.views[0].ramp_percent == 100);
  CHECK(health.view(0).ramp_percent == 100);
  // 100 % only once slow_start has passed since the enable.
  CHECK(last.at - enabled_at >= 900ms);

  std::vector<unsigned> percents;
  for (size_t i = 1; i < harness.published.size(); ++i) {
    const Publication& publication = harness.published[i];
    CHECK(publication.update == i + 1);
    const unsigned percent = percentOfServer0(publication);
    // The view agrees with the weights it was published with.
    CHECK(publication.views[0].ramp_percent == percent);
    percents.push_back(percent);
  }
  // Monotonic, one step (10 points) at a time, every step seen.
  std::vector<unsigned> steps;
  for (size_t i = 0; i < percents.size(); ++i) {
    if (i > 0) CHECK_MESSAGE(percents[i] >= percents[i - 1], "the ramp went down at " << i);
    if (steps.empty() || steps.back() != percents[i]) steps.push_back(percents[i]);
  }
  CHECK_MESSAGE(steps == kEveryStep, "published percents: " << joined(percents));

  // The ramp is over: its timer publishes nothing more.
  const size_t count = harness.published.size();
  harness.runFor(250ms);
  CHECK(harness.published.size() == count);
}

TEST_CASE("health: upstream slow start does not ramp a server that comes up for the first time") {
  uint16_t port0 = 0, port1 = 0;
  test::Fd listener0 = test::listenLoopback(port0);
  test::Fd listener1 = test::listenLoopback(port1);
  Harness harness(
      "    balance: least_conn\n"
      "    slow_start: 900ms\n"
      "    health_check: { type: tcp, interval: 1h, jitter: 0%, initial_state: down }\n" +
      servers({loopbackServer(port0, 2), loopbackServer(port1, 1)}));
  UpstreamHealth& health = *harness.health;
  CHECK(harness.upstream().primaries.hosts.empty());  // checked and down: no traffic yet
  CHECK_FALSE(health.view(0).usable);
  CHECK_FALSE(health.view(0).check_up);

  health.start();
  const bool both_up = harness.runUntil([&] {
    return !harness.published.empty() && harness.published.back().primaries.hosts.size() == 2;
  });
  REQUIRE(both_up);
  REQUIRE(harness.published.size() == 2);  // one publication per server coming up

  const Publication& one = harness.published[0];
  REQUIRE(one.primaries.hosts.size() == 1);
  const uint32_t first_up = one.primaries.hosts[0]->index;
  CHECK(one.primaries.weights[0] == harness.upstream().servers[first_up].weight);
  CHECK(one.views[first_up].ramp_percent == 100);
  CHECK(one.views[first_up].last_check == "passed");

  const Publication& two = harness.published[1];
  CHECK(indexesOf(two.primaries) == std::vector<uint32_t>{0, 1});
  CHECK(two.primaries.weights == std::vector<uint32_t>{2, 1});  // plain, not in tenths
  CHECK(two.views[0].ramp_percent == 100);
  CHECK(two.views[1].ramp_percent == 100);

  // A ramp would publish its first step 100ms in; none comes.
  harness.runFor(250ms);
  CHECK(harness.published.size() == 2);
}

TEST_CASE("health: upstream slow start ramps a server back from ejection") {
  Harness harness(std::string(kSlowStartUpstream) +
                  "    outlier_detection: { consecutive_5xx: 1, base_ejection: 100ms }\n");
  UpstreamHealth& health = *harness.health;
  health.start();
  health.report(0, Attempt{AttemptOutcome::Response, 500});
  REQUIRE(harness.published.size() == 1);
  CHECK(indexesOf(harness.published[0].primaries) == std::vector<uint32_t>{1});
  REQUIRE(harness.runUntil([&] { return contains(harness.published.back().primaries, 0); }));
  const Publication& back = harness.published.back();
  CHECK(back.primaries.weights == std::vector<uint32_t>{2, 10});
  CHECK(back.views[0].ramp_percent == 10);
  CHECK_FALSE(back.views[0].ejected);
}

TEST_CASE("health: upstream slow start ramps a server whose check comes back up") {
  uint16_t port = 0, steady_port = 0;
  test::Fd flapping = test::refusingPort(port);  // bound, not listening: refused
  test::Fd steady = test::listenLoopback(steady_port);
  Harness harness(
      "    balance: least_conn\n"
      "    slow_start: 900ms\n"
      "    health_check: { type: tcp, interval: 100ms, rise: 1, fall: 1, jitter: 0%, "
      "initial_state: up }\n" +
      servers({loopbackServer(port, 2), loopbackServer(steady_port, 1)}));
  UpstreamHealth& health = *harness.health;
  health.start();
  REQUIRE(harness.runUntil([&] {
    return !harness.published.empty() && !contains(harness.published.back().primaries, 0);
  }));
  CHECK(indexesOf(harness.published.back().primaries) == std::vector<uint32_t>{1});
  CHECK_FALSE(health.view(0).check_up);
  REQUIRE(::listen(flapping.get(), 16) == 0);  // from now on its probes pass
  REQUIRE(harness.runUntil([&] { return contains(harness.published.back().primaries, 0); }));
  const Publication& back = harness.published.back();
  CHECK(back.views[0].check_up);
  CHECK(back.views[0].last_check == "passed");
  CHECK(back.views[0].ramp_percent == 10);
  CHECK(indexesOf(back.primaries) == std::vector<uint32_t>{0, 1});
  CHECK(back.primaries.weights == std::vector<uint32_t>{2, 10});
}

// The step timer is armed while a server ramps and never cancelled: when
// that server stops being usable mid-ramp, the timer still fires and
// publishes HostSets identical to the last ones.
TEST_CASE(
    "health: upstream publishes nothing when a ramping server is drained before its next step") {
  Harness harness(kSlowStartUpstream);
  UpstreamHealth& health = *harness.health;
  health.setAdminDrain(0, true);
  health.setAdminDrain(0, false);  // ramping: the next step is 100ms away
  health.setAdminDrain(0, true);
  REQUIRE(harness.published.size() == 3);
  CHECK(indexesOf(harness.published[2].primaries) == std::vector<uint32_t>{1});
  CHECK(harness.published[2].primaries.weights == std::vector<uint32_t>{1});
  harness.runFor(250ms);
  CHECK(harness.published.size() == 3);
}

// A slow_start that 9 does not divide in milliseconds (1s -> steps of
// 111.1ms): every tick of the step timer must see the next step, none
// repeated, none skipped.
TEST_CASE("health: upstream slow start publishes each step of a 1s ramp when it is due") {
  Harness harness(
      "    balance: least_conn\n"
      "    slow_start: 1s\n"
      "    servers:\n"
      "      - { address: 127.0.0.1:9001, weight: 2 }\n"
      "      - { address: 127.0.0.1:9002, weight: 1 }\n");
  UpstreamHealth& health = *harness.health;
  health.setAdminDrain(0, true);
  const auto enabled_at = Clock::now();
  health.setAdminDrain(0, false);
  REQUIRE(harness.runUntil([&] {
    return harness.published.back().primaries.weights == std::vector<uint32_t>{2, 1};
  }));
  std::vector<unsigned> percents;
  for (size_t i = 1; i < harness.published.size(); ++i) {
    const Publication& publication = harness.published[i];
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(publication.at - enabled_at);
    percents.push_back(percentOfServer0(publication));
    INFO("publication " << i << " at " << elapsed.count() << "us: " << percents.back() << "%");
    if (percents.size() > 1) CHECK(percents.back() == percents[percents.size() - 2] + 10);
  }
  CHECK_MESSAGE(percents == kEveryStep, "published percents: " << joined(percents));
}

// slow_start accepts any duration up to 1h; below 9ms the step
// (slow_start / 9 in whole milliseconds) is 0 and buildHostSets divides by
// it. Run in a child process so the crash does not take the suite down.
TEST_CASE("health: upstream slow start shorter than 9ms does not crash") {
  Harness harness(
      "    balance: least_conn\n"
      "    slow_start: 5ms\n"
      "    servers:\n"
      "      - { address: 127.0.0.1:9001, weight: 2 }\n"
      "      - { address: 127.0.0.1:9002, weight: 1 }\n");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (int sig : {SIGFPE, SIGSEGV, SIGABRT, SIGILL, SIGBUS}) std::signal(sig, SIG_DFL);
    alarm(5);  // bounds the child whatever happens
    harness.health->setAdminDrain(0, true);
    harness.health->setAdminDrain(0, false);
    harness.runFor(50ms);
    _exit(harness.health->view(0).usable && harness.health->view(0).ramp_percent == 100 ? 0 : 3);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  INFO("child status: exited " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ", signal "
                               << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  const bool exited = WIFEXITED(status);
  CHECK(exited);
  CHECK((exited ? WEXITSTATUS(status) : -1) == 0);
}

// --- outlier detection -------------------------------------------------------

TEST_CASE("health: upstream outlier ejection removes the server until base_ejection passes") {
  Harness harness("    outlier_detection: { consecutive_5xx: 2, base_ejection: 300ms }\n" +
                  servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  const Attempt error500{AttemptOutcome::Response, 500};

  const auto started = Clock::now();
  health.report(1, error500);
  CHECK(harness.published.empty());  // one 5xx is below the threshold
  CHECK_FALSE(health.view(1).ejected);

  health.report(1, error500);
  REQUIRE(harness.published.size() == 1);
  CHECK(indexesOf(harness.published[0].primaries) == std::vector<uint32_t>{0});
  CHECK(harness.published[0].views[1].ejected);
  CHECK(health.view(1).ejected);
  CHECK_FALSE(health.view(1).usable);
  CHECK(health.view(1).check_up);  // ejection is not a failed check
  // Counted under its reason, for fulcrum_outlier_ejections_total.
  using health::EjectionReason;
  const auto& ejections = health.view(1).ejections;
  CHECK(ejections[static_cast<size_t>(EjectionReason::Errors5xx)] == 1);
  CHECK(ejections[static_cast<size_t>(EjectionReason::GatewayErrors)] == 0);
  CHECK(ejections[static_cast<size_t>(EjectionReason::ConnectFailures)] == 0);

  const bool back =
      harness.runUntil([&] { return contains(harness.published.back().primaries, 1); });
  REQUIRE(back);
  REQUIRE(harness.published.size() == 2);
  CHECK(harness.published[1].at - started >= 300ms);
  CHECK(indexesOf(harness.published[1].primaries) == std::vector<uint32_t>{0, 1});
  CHECK_FALSE(health.view(1).ejected);
  CHECK(health.view(1).usable);
}

TEST_CASE("health: upstream outlier counts only 5xx in a row") {
  Harness harness("    outlier_detection: { consecutive_5xx: 2, base_ejection: 300ms }\n" +
                  servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  health.report(0, Attempt{AttemptOutcome::Response, 503});
  health.report(0, Attempt{AttemptOutcome::Response, 200});  // resets the streak
  health.report(0, Attempt{AttemptOutcome::Response, 502});
  harness.flush();
  CHECK(harness.published.empty());
  CHECK_FALSE(health.view(0).ejected);
  health.report(0, Attempt{AttemptOutcome::Response, 500});
  CHECK(harness.published.size() == 1);
  CHECK(health.view(0).ejected);
}

TEST_CASE("health: upstream without outlier_detection ejects after 5 connect failures, briefly") {
  Harness harness(servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  const Attempt refused{AttemptOutcome::ConnectFailure, 0};
  for (int i = 0; i < 4; ++i) health.report(1, refused);
  harness.flush();
  CHECK_FALSE(health.view(1).ejected);
  const auto started = Clock::now();
  health.report(1, refused);
  REQUIRE_FALSE(harness.published.empty());
  CHECK(indexesOf(harness.published.back().primaries) == std::vector<uint32_t>{0});
  // Under the default rule's own reason, not the written rule's.
  using health::EjectionReason;
  CHECK(health.view(1).ejections[static_cast<size_t>(EjectionReason::DefaultConnectFailures)] == 1);
  CHECK(health.view(1).ejections[static_cast<size_t>(EjectionReason::ConnectFailures)] == 0);
  // Still a standby: a request that failed to connect everywhere else tries it.
  REQUIRE(harness.published.back().standby.size() == 1);
  CHECK(harness.published.back().standby[0]->index == 1);
  // The default base ejection is 1s: back on its own soon after.
  REQUIRE(harness.runUntil([&] { return contains(harness.published.back().primaries, 1); }));
  CHECK(Clock::now() - started >= 1s);
  CHECK(Clock::now() - started < 10s);  // not the 30s of a written block
}

TEST_CASE("health: an upstream whose every server is ejected keeps them all in rotation") {
  Harness harness(servers({"{ address: 127.0.0.1:9001 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  for (int i = 0; i < 5; ++i) health.report(0, Attempt{AttemptOutcome::ConnectFailure, 0});
  harness.flush();
  // Ejected, but the only server: requests still try it, so it is used the
  // moment it answers again rather than after its ejection time.
  CHECK(health.view(0).ejected);
  CHECK(health.view(0).usable);
  CHECK(harness.published.empty());  // nothing changed for the workers
}

TEST_CASE("health: outlier_detection with every count at 0 ejects nothing") {
  Harness harness(
      "    outlier_detection: { consecutive_connect_failures: 0, consecutive_5xx: 0 }\n" +
      servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }"}));
  for (int i = 0; i < 10; ++i)
    harness.health->report(0, Attempt{AttemptOutcome::ConnectFailure, 0});
  harness.flush();
  CHECK(harness.published.empty());
  CHECK_FALSE(harness.health->view(0).ejected);
}

TEST_CASE("health: below panic_threshold every primary takes requests, and it says so") {
  Harness harness(
      "    panic_threshold: 50%\n"
      "    outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 }\n" +
      servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }",
               "{ address: 127.0.0.1:9003 }", "{ address: 127.0.0.1:9004 }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  const Attempt error500{AttemptOutcome::Response, 500};
  // 3 of 4 usable: above 50%, the ejected one is out.
  health.report(1, error500);
  REQUIRE_FALSE(harness.published.empty());
  CHECK(indexesOf(harness.published.back().primaries) == std::vector<uint32_t>{0, 2, 3});
  CHECK_FALSE(health.panic());
  // 2 of 4 is not below 50% either.
  health.report(2, error500);
  CHECK(indexesOf(harness.published.back().primaries) == std::vector<uint32_t>{0, 3});
  CHECK_FALSE(health.panic());
  // 1 of 4: panic, and every primary takes requests, the ejected ones too.
  health.report(3, error500);
  CHECK(health.panic());
  CHECK(indexesOf(harness.published.back().primaries) == std::vector<uint32_t>{0, 1, 2, 3});
  CHECK(health.view(3).ejected);
}

TEST_CASE("health: backups come before panic") {
  Harness harness(
      "    panic_threshold: 50%\n"
      "    outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 }\n" +
      servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }",
               "{ address: 127.0.0.1:9003, backup: true }"}));
  UpstreamHealth& health = *harness.health;
  health.start();
  health.report(0, Attempt{AttemptOutcome::Response, 500});
  health.report(1, Attempt{AttemptOutcome::Response, 500});
  REQUIRE_FALSE(harness.published.empty());
  CHECK_FALSE(health.panic());
  CHECK(harness.published.back().primaries.hosts.empty());
  CHECK(indexesOf(harness.published.back().backups) == std::vector<uint32_t>{2});
}

TEST_CASE("health: upstream without outlier_detection ignores 5xx") {
  Harness harness(servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }"}));
  for (int i = 0; i < 10; ++i) harness.health->report(0, Attempt{AttemptOutcome::Response, 500});
  harness.flush();
  CHECK(harness.published.empty());
  CHECK_FALSE(harness.health->view(0).ejected);
  CHECK(harness.health->view(0).usable);
}

// --- active checks -----------------------------------------------------------

TEST_CASE("health: upstream tcp check takes a refusing server out after fall failures") {
  uint16_t refused_port = 0, open_port = 0;
  test::Fd refusing = test::refusingPort(refused_port);
  test::Fd listening = test::listenLoopback(open_port);
  Harness harness(
      "    health_check: { type: tcp, interval: 100ms, fall: 2, jitter: 0%, initial_state: up }\n" +
      servers({loopbackServer(refused_port), loopbackServer(open_port)}));
  UpstreamHealth& health = *harness.health;
  CHECK(health.view(0).usable);  // initial_state up: in rotation before any probe
  CHECK(health.view(0).last_check == "not checked yet");

  // Sample the state every 2ms to catch the moment after the first result.
  bool saw_first_result = false;
  bool in_after_first_failure = false;
  std::unique_ptr<net::Timer> sampler;
  sampler = std::make_unique<net::Timer>(harness.loop, [&] {
    const auto view = health.view(0);
    if (!saw_first_result && view.last_check != "not checked yet") {
      saw_first_result = true;
      in_after_first_failure = harness.published.empty() && view.usable && view.check_up;
    }
    sampler->arm(2ms);
  });
  sampler->arm(0ms);

  const auto started = Clock::now();
  health.start();
  const bool left = harness.runUntil([&] { return !harness.published.empty(); });
  sampler.reset();
  REQUIRE(left);
  REQUIRE(harness.published.size() == 1);
  const Publication& out = harness.published[0];
  CHECK(indexesOf(out.primaries) == std::vector<uint32_t>{1});
  CHECK_FALSE(out.views[0].check_up);
  CHECK_FALSE(health.view(0).check_up);
  CHECK_FALSE(health.view(0).usable);
  CHECK_FALSE(health.view(0).ejected);
  CHECK(health.view(0).last_check.find("refused") != std::string::npos);
  CHECK(health.view(1).check_up);
  CHECK(health.view(1).last_check == "passed");

  // Not after the first failure: the server was still in once it was known...
  CHECK(saw_first_result);
  CHECK(in_after_first_failure);
  // ...and out with the second: probes start 100ms apart (jitter 0%), so it
  // cannot leave before the second probe (no upper bound: timers run late on
  // a loaded machine, never early).
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(out.at - started);
  INFO("left after " << elapsed.count() << "ms");
  CHECK(elapsed >= 90ms);
}

TEST_CASE(
    "health: upstream tcp check with initial_state down publishes nothing for a first failure") {
  uint16_t refused_port = 0;
  test::Fd refusing = test::refusingPort(refused_port);
  Harness harness(
      "    health_check: { type: tcp, interval: 100ms, jitter: 0%, initial_state: down }\n" +
      servers({loopbackServer(refused_port)}));
  UpstreamHealth& health = *harness.health;
  health.start();
  // The upstream starts with no server; failures keep it so: nothing to publish.
  harness.runFor(150ms);
  CHECK(harness.published.empty());
  CHECK_FALSE(health.view(0).usable);
  CHECK(health.view(0).last_check.find("refused") != std::string::npos);
}

// --- hash strategies -----------------------------------------------------------

TEST_CASE("health: upstream publications of a hash strategy carry its table") {
  for (const char* balance : {"maglev", "ring_hash"}) {
    CAPTURE(balance);
    Harness harness(std::string("    balance: ") + balance + "\n    hash_key: source_ip\n" +
                    servers({"{ address: 127.0.0.1:9001 }", "{ address: 127.0.0.1:9002 }",
                             "{ address: 127.0.0.1:9003 }"}));
    CHECK(harness.upstream().primaries.table != nullptr);
    harness.health->setAdminDrain(1, true);
    REQUIRE(harness.published.size() == 1);
    const Publication& drained = harness.published[0];
    CHECK(indexesOf(drained.primaries) == std::vector<uint32_t>{0, 2});
    CHECK(drained.primaries.table != nullptr);
    // Built for the new membership, not the start-up table handed on.
    CHECK(drained.primaries.table != harness.upstream().primaries.table);
    harness.health->setAdminDrain(1, false);
    REQUIRE(harness.published.size() == 2);
    CHECK(harness.published[1].primaries.table != nullptr);
  }
}
