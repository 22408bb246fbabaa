// Money-safe retries under load while a backend restarts: three
// RecordingBackends behind the real proxy, four client threads sending a
// bounded mix of GETs, keyed POSTs and unkeyed POSTs (each with its own
// path, request id and key), and one backend going away (connects refused,
// its idle connections closed) partway through and coming back later.
// What must hold is what a ledger needs: no safe request fails, no unkeyed
// POST is received twice anywhere, an unkeyed POST that fails says its
// outcome is unknown, and the proxy's counters agree with what was seen.
// Bounded by count (600 requests) and by deadlines; the switches wait on
// the number of answered requests, never on time.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/payment_load.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr int kGoDownAfter = 150;  // answered requests before the restart begins
constexpr int kComeBackAfter = 400;
constexpr auto kRunDeadline = 90s;

}  // namespace

TEST_CASE(
    "retry: chaos: a backend restarting under mixed load fails no safe request and "
    "duplicates no unkeyed POST") {
  RecordingBackend a("a"), b("b"), c("c");
  // attempts: 3, because a request can lose two attempts to one restart: a
  // pooled connection to c closed under it (re-sent fresh, one attempt) and
  // that fresh connect refused (another). The budget is opened wide: what
  // it refuses has its own test, and here it would only blur the counts.
  // Ejection is off: c must take requests again as soon as it is back, for
  // the test to see that it was restarted (ejection has its own tests).
  Proxy proxy(
      "global: { workers: 1, log: { level: debug, access: stdout },"
      " admin: { listen: 127.0.0.1:0 } }\n"
      // The test's own request ids tie each backend's records to a request.
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool,\n"
      "      request_id: { trust_client: true } }\n"
      "upstreams:\n  pool:\n    balance: round_robin\n"
      "    timeouts: { connect: 2s, response: 10s }\n"
      "    retries: { attempts: 3, budget_percent: 100, budget_min_per_second: 10000 }\n"
      "    outlier_detection: { consecutive_connect_failures: 0, consecutive_5xx: 0 }\n"
      "    servers:\n"
      "      - { address: 127.0.0.1:" +
      std::to_string(a.port()) +
      " }\n"
      "      - { address: 127.0.0.1:" +
      std::to_string(b.port()) +
      " }\n"
      "      - { address: 127.0.0.1:" +
      std::to_string(c.port()) + " }\n");
  const uint16_t port = proxy.port("web");
  const auto before = scrapeSamples(proxy.adminPort());

  PaymentLoad load(port, {.name = "chaos",
                          .requests = 600,
                          .concurrency = 4,
                          .seed = 15,
                          .run_deadline = kRunDeadline});

  // The restart, driven by progress: down after kGoDownAfter answers, back
  // after kComeBackAfter.
  CHECK(load.waitAnswered(kGoDownAfter, kRunDeadline));
  CHECK(c.setBehaviour(Behaviour::Refuse));
  const int answered_at_down = load.answered();
  CHECK(load.waitAnswered(kComeBackAfter, kRunDeadline));
  CHECK(c.setBehaviour(Behaviour::Answer));
  const int answered_at_up = load.answered();
  const auto back_at = std::chrono::steady_clock::now();
  const std::vector<LoadRequest>& sent = load.finish();
  const auto after = scrapeSamples(proxy.adminPort());
  INFO("c went down after " << answered_at_down << " answers, came back after " << answered_at_up);

  const Tally tally = tallyLoad(sent, {&a, &b, &c}, &proxy.process());
  checkMoneySafe(tally, 600);
  CHECK(tally.ok + tally.unknown502 == tally.total);

  // The restart really happened, and c served again after it.
  auto moved = [&](const std::string& family, const std::vector<std::string>& parts) {
    return movedBy(before, after, family, parts);
  };
  const double connect_retries =
      moved("fulcrum_retries_total", {"upstream=\"pool\"", "reason=\"connect_failure\""});
  CHECK(connect_retries > 0);
  int c_after_restart = 0;
  for (const auto& request : c.requests()) c_after_restart += request.at > back_at;
  CHECK(c_after_restart > 0);

  // The counters agree with the responses: every attempt past the first was
  // a counted retry, every outcome-unknown 502 a counted refusal, and the
  // budget refused nothing.
  const double retries_counted = moved("fulcrum_retries_total", {"upstream=\"pool\""});
  INFO("retries by reason: connect_failure="
       << connect_retries << " reset=" << moved("fulcrum_retries_total", {"reason=\"reset\""})
       << " timeout=" << moved("fulcrum_retries_total", {"reason=\"timeout\""})
       << " stale_connection=" << moved("fulcrum_retries_total", {"reason=\"stale_connection\""}));
  CHECK(retries_counted == static_cast<double>(tally.retries_seen));
  CHECK(moved("fulcrum_retries_refused_total",
              {"upstream=\"pool\"", "reason=\"non_idempotent\""}) == tally.unknown502);
  CHECK(moved("fulcrum_retries_refused_total", {"upstream=\"pool\"", "reason=\"budget\""}) == 0);
  CHECK(moved("fulcrum_retries_refused_total",
              {"upstream=\"pool\"", "reason=\"body_too_large\""}) == 0);
  CHECK(moved("fulcrum_http_requests_total", {"upstream=\"pool\"", "code=\"200\""}) == tally.ok);
  CHECK(moved("fulcrum_http_requests_total", {"upstream=\"pool\"", "code=\"502\""}) ==
        tally.unknown502);
  // Every receipt is an attempt that went out: never more receipts than attempts.
  CHECK(tally.receipts <= static_cast<size_t>(tally.total + tally.retries_seen));
}
