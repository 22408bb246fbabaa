// Servers that crash under a mixed payment load (issue #15), with the
// settings an operator writes first (support/http_configs.h, FirstConfig):
// no health check, no outlier_detection block. The load is 600 requests at
// concurrency 10, each on a fresh client connection: a seeded mix of GETs,
// POSTs with an Idempotency-Key and POSTs without. Each case runs several
// times over, on a fresh proxy and fresh backends, to catch a rare race.
// What must hold (checkMoneySafe): no GET and no keyed POST fails while a
// server is alive, no unkeyed POST is received twice, and one that failed
// is answered 502 with X-Fulcrum-Outcome: unknown.
//
// A crash is RecordingBackend::kill(): the listening socket closes and
// every connection drops at once, the ones holding a request included.
// It is in-process, so the backend's record of what it received survives
// the crash, and a receipt is never lost to a process dying mid-write.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/http_configs.h"
#include "support/payment_load.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRuns = 5;
constexpr int kRequests = 600;
constexpr auto kRunDeadline = 90s;

std::string fleet(const std::vector<const RecordingBackend*>& backends) {
  FirstConfig config;
  for (const auto* backend : backends) config.servers.push_back(loopbackAddress(backend->port()));
  return config.yaml();
}

}  // namespace

TEST_CASE(
    "failover: a server that stalls, is SIGKILLed and restarts costs no GET and no keyed POST, "
    "and doubles no unkeyed POST") {
  for (int run = 1; run <= kRuns; ++run) {
    CAPTURE(run);
    // c holds what it reads until it is killed; its stall limit is only a
    // bound in case the kill never comes.
    RecordingBackend a("a"), b("b"), c("c", Behaviour::Answer, 30s);
    Proxy proxy(fleet({&a, &b, &c}));
    const uint16_t port = proxy.port("web");
    const auto before = scrapeSamples(proxy.adminPort());

    // Paced so that the load runs through the whole schedule below and about
    // 2.5s past the restart: long enough for c to serve again even if it
    // was ejected a second time (for 2s) just before it came back.
    PaymentLoad load(port, {.name = "crash" + std::to_string(run),
                            .requests = kRequests,
                            .concurrency = 10,
                            .seed = static_cast<uint64_t>(run),
                            .spacing = 8ms,
                            .run_deadline = kRunDeadline});

    // The fault schedule: c stops answering once a sixth of the load is
    // answered, is killed 0.6s later and restarted 1s after that. The
    // pauses are the schedule itself, not waits for a result.
    REQUIRE(load.waitAnswered(kRequests / 6, kRunDeadline));
    REQUIRE(c.setBehaviour(Behaviour::ReadThenStall));
    const auto stalled_at = Clock::now();
    std::this_thread::sleep_until(stalled_at + 600ms);
    REQUIRE(c.kill());
    const auto killed_at = Clock::now();
    std::this_thread::sleep_until(killed_at + 1s);
    REQUIRE(c.setBehaviour(Behaviour::Answer));
    const auto restarted_at = Clock::now();
    const int answered_at_restart = load.answered();

    const std::vector<LoadRequest>& sent = load.finish();
    const auto after = scrapeSamples(proxy.adminPort());
    const Tally tally = tallyLoad(sent, {&a, &b, &c}, &proxy.process());
    checkMoneySafe(tally, kRequests);
    CHECK(tally.ok + tally.unknown502 == tally.total);

    // The faults happened as scheduled: c held requests when it was
    // killed, the load went on past the restart, and c served again.
    int held = 0, held_unkeyed = 0, after_restart = 0;
    for (const auto& request : c.requests()) {
      if (request.behaviour == Behaviour::ReadThenStall) {
        ++held;
        held_unkeyed += !request.idempotency_key && request.method == "POST";
      }
      after_restart += request.at > restarted_at;
    }
    INFO("c held " << held << " requests (" << held_unkeyed << " unkeyed POSTs); "
                   << answered_at_restart << " answered at the restart");
    CHECK(held > 0);
    CHECK(answered_at_restart < kRequests);
    CHECK(after_restart > 0);
    // Every unkeyed POST c held was lost with it: each is an outcome unknown.
    CHECK(tally.unknown502 >= held_unkeyed);

    // The counters moved as they should: connects to the dead c failed and
    // moved on, the default rule ejected it for them, the held safe
    // requests were sent again, and every outcome unknown was a refused
    // retry, none of them for lack of budget.
    auto moved = [&](const std::string& family, const std::vector<std::string>& parts) {
      return movedBy(before, after, family, parts);
    };
    const double retries = moved("fulcrum_retries_total", {});
    const double connect_retries = moved("fulcrum_retries_total", {"reason=\"connect_failure\""});
    INFO("retries: " << retries << ", after connect failures: " << connect_retries);
    CHECK(connect_retries > 0);
    CHECK(retries > connect_retries);  // the held GETs and keyed POSTs
    CHECK(moved("fulcrum_outlier_ejections_total", {"reason=\"connect_default\""}) >= 1);
    CHECK(moved("fulcrum_retries_refused_total", {"reason=\"non_idempotent\""}) ==
          tally.unknown502_unkeyed);
    CHECK(tally.unknown502 == tally.unknown502_unkeyed);
    CHECK(moved("fulcrum_retries_refused_total", {"reason=\"budget\""}) == 0);
    CHECK(moved("fulcrum_http_requests_total", {"code=\"200\""}) == tally.ok);
  }
}

TEST_CASE(
    "failover: when every server dies, each client gets 503 with Retry-After or the 502 "
    "outcome unknown, within its timeouts") {
  for (int run = 1; run <= kRuns; ++run) {
    CAPTURE(run);
    RecordingBackend a("a"), b("b"), c("c");
    Proxy proxy(fleet({&a, &b, &c}));
    const uint16_t port = proxy.port("web");
    const auto before = scrapeSamples(proxy.adminPort());

    // A client's own timeout, the longest fulcrum may take with these
    // settings: 2 attempts of 3s (per_try_timeout = timeouts.response) and
    // a 1s connect to each of the 3 servers, plus 1s for the answer to
    // travel, under ASan on a loaded machine too.
    constexpr auto kClientTimeout = 2 * 3s + 3 * 1s + 1s;
    PaymentLoad load(port, {.name = "dead" + std::to_string(run),
                            .requests = kRequests,
                            .concurrency = 10,
                            .seed = static_cast<uint64_t>(100 + run),
                            .response_deadline = kClientTimeout,
                            .run_deadline = kRunDeadline});

    // The servers die one after the other, as the load goes on.
    REQUIRE(load.waitAnswered(kRequests / 6, kRunDeadline));
    REQUIRE(a.kill());
    REQUIRE(load.waitAnswered(kRequests / 3, kRunDeadline));
    REQUIRE(b.kill());
    REQUIRE(load.waitAnswered(kRequests / 2, kRunDeadline));
    const auto last_death = Clock::now();
    REQUIRE(c.kill());
    const auto all_dead = Clock::now();

    const std::vector<LoadRequest>& sent = load.finish();
    const auto after = scrapeSamples(proxy.adminPort());
    // A server was alive for a request that was answered before c's kill
    // began; one that overlapped it may fail as one must with none alive.
    const Tally tally = tallyLoad(sent, {&a, &b, &c}, &proxy.process(),
                                  [&](const LoadRequest& r) { return r.finished < last_death; });
    checkMoneySafe(tally, kRequests);

    // Once all were dead, nothing could be sent: each request got 503 at
    // once (refused connects cost no wait), with Retry-After (checked above).
    int after_death = 0, not_503 = 0, slow = 0;
    for (const LoadRequest& r : sent) {
      if (r.started < all_dead) continue;
      ++after_death;
      not_503 += r.status != 503;
      slow += r.finished - r.started > 1s;
    }
    INFO(after_death << " requests sent after every server was dead");
    CHECK(after_death > 0);
    CHECK(not_503 == 0);
    CHECK(slow == 0);

    auto moved = [&](const std::string& family, const std::vector<std::string>& parts) {
      return movedBy(before, after, family, parts);
    };
    const auto answered503 = tally.by_status.find(503);
    CHECK(moved("fulcrum_http_requests_total", {"code=\"503\""}) ==
          (answered503 == tally.by_status.end() ? 0 : answered503->second));
    CHECK(moved("fulcrum_retries_total", {"reason=\"connect_failure\""}) > 0);
    CHECK(moved("fulcrum_outlier_ejections_total", {"reason=\"connect_default\""}) >= 1);
    // A keyed POST whose retry found no server left is an outcome unknown
    // too, but its retry was granted, not refused.
    CHECK(moved("fulcrum_retries_refused_total", {"reason=\"non_idempotent\""}) ==
          tally.unknown502_unkeyed);
  }
}
