// Servers that fail silently under a mixed payment load (issue #15), with
// the settings an operator writes first (support/http_configs.h,
// FirstConfig): no health check, no outlier_detection block. Each case runs
// several times over, on a fresh proxy and fresh backends, with a bounded
// load of GETs, keyed POSTs and unkeyed POSTs at concurrency 10, each on a
// fresh client connection (support/payment_load.h), and checks what a
// ledger needs (checkMoneySafe) and what the counters say.
//
// A silent server costs time, not answers: one that accepts and never
// answers costs each request that meets it one per_try_timeout, and one
// whose SYNs are dropped one timeouts.connect; then the request moves on.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/blackhole.h"
#include "support/http_configs.h"
#include "support/payment_load.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kRunDeadline = 90s;
// libevent arms a timer from the time its loop cached when the iteration
// began, so one can end a few milliseconds before its full length.
constexpr auto kTimerSlack = 50ms;

}  // namespace

TEST_CASE(
    "failover: a server that accepts and never answers costs a GET or keyed POST one "
    "per_try_timeout, and an unkeyed POST the 502 outcome unknown") {
  // 200 requests a run: c meets about a third of them, so about 45 safe
  // ones are retried, below the retry budget's floor of 10 a second over
  // its 10s window. Past that the default budget (20% of the requests)
  // would rightly refuse retries: this server is never ejected, as the
  // default outlier rule watches failed connects only.
  constexpr int kRequests = 200;
  constexpr auto kPerTry = 300ms;
  constexpr int kRuns = 5;
  for (int run = 1; run <= kRuns; ++run) {
    CAPTURE(run);
    RecordingBackend a("a"), b("b"), c("c", Behaviour::ReadThenStall, 30s);
    Proxy proxy(FirstConfig{
        {loopbackAddress(a.port()), loopbackAddress(b.port()), loopbackAddress(c.port())},
        ", per_try_timeout: " + std::to_string(kPerTry.count()) + "ms"}
                    .yaml());
    const uint16_t port = proxy.port("web");
    const auto before = scrapeSamples(proxy.adminPort());

    PaymentLoad load(port, {.name = "silent" + std::to_string(run),
                            .requests = kRequests,
                            .concurrency = 10,
                            .seed = static_cast<uint64_t>(200 + run),
                            .run_deadline = kRunDeadline});
    const std::vector<LoadRequest>& sent = load.finish();
    const auto after = scrapeSamples(proxy.adminPort());
    const Tally tally = tallyLoad(sent, {&a, &b, &c}, &proxy.process());
    checkMoneySafe(tally, kRequests);
    CHECK(tally.ok + tally.unknown502 == tally.total);

    // What c held, by path; c answered nothing.
    std::vector<std::string> held_paths;
    for (const auto& request : c.requests()) held_paths.push_back(request.path);
    int held_safe = 0, held_unkeyed = 0, waited_less = 0, answered_by_c = 0;
    for (const LoadRequest& r : sent) {
      answered_by_c += r.backend == "c";
      if (std::find(held_paths.begin(), held_paths.end(), r.path) == held_paths.end()) continue;
      if (r.column == Column::UnkeyedPost) {
        ++held_unkeyed;
        continue;
      }
      ++held_safe;
      // It waited out its first attempt at c before going elsewhere.
      waited_less += r.finished - r.started < kPerTry - kTimerSlack || r.attempts != 2;
    }
    INFO("c held " << held_safe << " GETs and keyed POSTs, " << held_unkeyed << " unkeyed POSTs");
    CHECK(held_safe > 0);
    CHECK(held_unkeyed > 0);
    CHECK(answered_by_c == 0);
    CHECK(waited_less == 0);
    // Exactly the unkeyed POSTs c held are outcomes unknown.
    CHECK(tally.unknown502 == held_unkeyed);
    CHECK(tally.unknown502_unkeyed == held_unkeyed);

    auto moved = [&](const std::string& family, const std::vector<std::string>& parts) {
      return movedBy(before, after, family, parts);
    };
    CHECK(moved("fulcrum_retries_total", {"reason=\"timeout\""}) == held_safe);
    CHECK(moved("fulcrum_retries_total", {}) == held_safe);
    CHECK(moved("fulcrum_retries_refused_total", {"reason=\"non_idempotent\""}) == held_unkeyed);
    CHECK(moved("fulcrum_retries_refused_total", {"reason=\"budget\""}) == 0);
    CHECK(moved("fulcrum_outlier_ejections_total", {}) == 0);
  }
}

TEST_CASE(
    "failover: a server whose SYNs are dropped costs a request one timeouts.connect, and "
    "nothing hangs") {
  constexpr int kRequests = 300;
  constexpr auto kConnectTimeout = 1s;  // FirstConfig's timeouts.connect
  // How much longer than the connect timeout a request that met the
  // blackhole may take: the answer from another server, under ASan on a
  // loaded machine too.
  constexpr auto kMargin = 1s;
  constexpr uint16_t kHolePort = 8443;
  // Fewer runs than the others: each one lasts the whole paced load.
  constexpr int kRuns = 3;

  std::string why;
  std::unique_ptr<Blackhole> hole = Blackhole::create(kHolePort, why);
  if (!hole) {
    MESSAGE("skipped: " << why);
    return;
  }
  for (int run = 1; run <= kRuns; ++run) {
    CAPTURE(run);
    RecordingBackend a("a"), b("b");
    Proxy proxy(FirstConfig{{loopbackAddress(a.port()), hole->address(), loopbackAddress(b.port())}}
                    .yaml());
    const uint16_t port = proxy.port("web");
    const auto before = scrapeSamples(proxy.adminPort());
    const long dropped_before = hole->droppedSyns();

    // Paced over about 2.4s, so that the blackholed server is met again
    // after its first ejection (1s) is over.
    PaymentLoad load(port, {.name = "blackhole" + std::to_string(run),
                            .requests = kRequests,
                            .concurrency = 10,
                            .seed = static_cast<uint64_t>(300 + run),
                            .spacing = 8ms,
                            .run_deadline = kRunDeadline});
    const std::vector<LoadRequest>& sent = load.finish();
    const auto after = scrapeSamples(proxy.adminPort());
    const Tally tally = tallyLoad(sent, {&a, &b}, &proxy.process());
    checkMoneySafe(tally, kRequests);
    CHECK(tally.ok == tally.total);  // nothing was ever sent to the blackhole

    // Each request that met the blackhole waited one connect timeout, then
    // went on; none waited longer.
    int waited = 0, too_slow = 0;
    for (const LoadRequest& r : sent) {
      const auto took = r.finished - r.started;
      waited += took >= kConnectTimeout - kTimerSlack;
      too_slow += took >= kConnectTimeout + kMargin;
    }
    INFO(waited << " requests waited out a connect to the blackhole");
    CHECK(waited > 0);
    CHECK(too_slow == 0);
    CHECK(hole->droppedSyns() > dropped_before);  // the SYNs did reach the drop rule

    auto moved = [&](const std::string& family, const std::vector<std::string>& parts) {
      return movedBy(before, after, family, parts);
    };
    const std::string at_hole = "server=\"" + hole->address() + "\"";
    const double failed_connects = moved("fulcrum_upstream_connect_failures_total", {at_hole});
    INFO(failed_connects << " connects to the blackhole timed out");
    CHECK(failed_connects >= waited);
    CHECK(moved("fulcrum_retries_total", {"reason=\"connect_failure\""}) == failed_connects);
    CHECK(moved("fulcrum_outlier_ejections_total", {at_hole, "reason=\"connect_default\""}) >= 1);
    CHECK(moved("fulcrum_retries_refused_total", {}) == 0);
  }
}
