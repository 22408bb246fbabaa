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

#include <array>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr int kThreads = 4;
constexpr int kPerThread = 150;
constexpr int kTotal = kThreads * kPerThread;
constexpr int kGoDownAfter = 150;  // answered requests before the restart begins
constexpr int kComeBackAfter = 400;
constexpr auto kRunDeadline = 90s;

enum class Column { Get, KeyedPost, UnkeyedPost };

struct Sent {
  Column column = Column::Get;
  std::string method, path, request_id, key, body;
  // What came back (status 0: no response at all).
  int status = 0;
  std::string backend, outcome, attempts;
  bool attempts_present = false;
};

Sent makeRequest(int thread, int index) {
  Sent sent;
  sent.column = static_cast<Column>((thread + index) % 3);
  std::string tag = "t" + std::to_string(thread) + "-" + std::to_string(index);
  sent.path = "/chaos/" + tag;
  sent.request_id = "chaos-" + tag;
  if (sent.column == Column::Get) {
    sent.method = "GET";
  } else {
    sent.method = "POST";
    sent.body = patternBytes(200 + static_cast<size_t>(index % 5) * 150,
                             static_cast<uint64_t>(thread) * 100000 + static_cast<uint64_t>(index));
    if (sent.column == Column::KeyedPost) sent.key = "key-" + tag;
  }
  return sent;
}

void sendOne(uint16_t port, Sent& sent) {
  std::string bytes = sent.method + " " + sent.path +
                      " HTTP/1.1\r\nHost: pay.test\r\nX-Request-Id: " + sent.request_id + "\r\n";
  if (!sent.key.empty()) bytes += "Idempotency-Key: " + sent.key + "\r\n";
  if (sent.method != "GET") bytes += "Content-Length: " + std::to_string(sent.body.size()) + "\r\n";
  bytes += "\r\n" + sent.body;
  Fd client = connectLoopback(port);
  if (!client || !writeAll(client.get(), bytes)) return;
  HttpReader reader(client.get());
  auto response = reader.response(false, 15s);
  if (!response) return;
  sent.status = response->status;
  sent.backend = response->field("X-Backend").value_or("");
  sent.outcome = response->field("X-Fulcrum-Outcome").value_or("");
  sent.attempts_present = response->field("X-Fulcrum-Attempts").has_value();
  sent.attempts = response->field("X-Fulcrum-Attempts").value_or("");
}

// name{labels} value -> value, for every series of the given families, keyed
// by "name{labels}" as exported.
std::map<std::string, double> scrape(Proxy& proxy) {
  HttpMessage response = httpGet(proxy.adminPort(), "/metrics");
  REQUIRE(response.status == 200);
  return samples(response.body);
}

// Sum of the series of `family` whose label text contains every `must`.
double sum(const std::map<std::string, double>& metrics, const std::string& family,
           const std::vector<std::string>& must = {}) {
  double total = 0;
  for (const auto& [series, value] : metrics) {
    if (series.compare(0, family.size() + 1, family + "{") != 0) continue;
    bool all = true;
    for (const auto& part : must) all = all && series.find(part) != std::string::npos;
    if (all) total += value;
  }
  return total;
}

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
  const auto before = scrape(proxy);

  std::atomic<int> answered{0};
  const auto give_up_at = std::chrono::steady_clock::now() + kRunDeadline;
  std::array<std::vector<Sent>, kThreads> sent;  // one per client thread
  for (auto& list : sent) list.reserve(kPerThread);
  std::vector<std::thread> clients;
  clients.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread && std::chrono::steady_clock::now() < give_up_at; ++i) {
        sent[t].push_back(makeRequest(t, i));
        sendOne(port, sent[t].back());
        ++answered;
      }
    });
  }

  // The restart, driven by progress: down after kGoDownAfter answers, back
  // after kComeBackAfter.
  bool went_down = waitUntil([&] { return answered >= kGoDownAfter; }, kRunDeadline);
  CHECK(went_down);
  CHECK(c.setBehaviour(Behaviour::Refuse));
  const int answered_at_down = answered;
  bool came_back = waitUntil([&] { return answered >= kComeBackAfter; }, kRunDeadline);
  CHECK(came_back);
  CHECK(c.setBehaviour(Behaviour::Answer));
  const int answered_at_up = answered;
  const auto back_at = std::chrono::steady_clock::now();
  for (auto& client : clients) client.join();
  const auto after = scrape(proxy);
  INFO("c went down after " << answered_at_down << " answers, came back after " << answered_at_up);

  // Everything received, by path, across the three backends.
  std::map<std::string, std::vector<std::pair<std::string, ReceivedRequest>>> received;
  size_t receipts = 0;
  for (const RecordingBackend* backend : {&a, &b, &c})
    for (auto& request : backend->requests()) {
      received[request.path].emplace_back(backend->name(), request);
      ++receipts;
    }

  int total = 0, no_response = 0, ok = 0, unknown502 = 0;
  int safe_failures = 0, unkeyed_bad = 0, unkeyed_duplicates = 0, mismatched = 0;
  int missing_attempts = 0;
  long retries_seen = 0;  // sum over responses of (attempts - 1)
  std::set<std::string> paths;
  std::vector<std::string> examples;  // the first few failures, with the proxy's lines
  auto note = [&](const Sent& s, const std::string& why) {
    if (examples.size() >= 5) return;
    std::string text = why + ": " + s.method + " " + s.path + " -> " + std::to_string(s.status) +
                       " outcome=" + s.outcome + " attempts=" + s.attempts + "\n";
    for (const auto& line : proxy.process().lines())
      if (line.find(s.request_id) != std::string::npos) text += "    " + line + "\n";
    examples.push_back(text);
  };

  for (const auto& per_thread : sent)
    for (const Sent& s : per_thread) {
      ++total;
      paths.insert(s.path);
      const auto& got = received[s.path];
      if (s.status == 0) {
        ++no_response;
        note(s, "no response");
        continue;
      }
      if (!s.attempts_present)
        ++missing_attempts;
      else
        retries_seen += std::stol(s.attempts) - 1;
      if (s.status == 200) ++ok;
      if (s.status == 502 && s.outcome == "unknown") ++unknown502;

      // Whoever answered 200 received it, whole, with its key.
      bool answered_by_named = false;
      for (const auto& [backend, request] : got) {
        if (request.method != s.method || request.body_hash != bodyHash(s.body) ||
            request.idempotency_key.value_or("") != s.key)
          ++mismatched;
        answered_by_named = answered_by_named || backend == s.backend;
      }
      if (s.status == 200 && !answered_by_named) {
        ++mismatched;
        note(s, "answered by a backend that did not record it");
      }

      if (s.column == Column::UnkeyedPost) {
        if (got.size() > 1) {
          ++unkeyed_duplicates;
          note(s, "unkeyed POST received " + std::to_string(got.size()) + " times");
        }
        bool fine = s.status == 200 || (s.status == 502 && s.outcome == "unknown");
        if (!fine) {
          ++unkeyed_bad;
          note(s, "unkeyed POST failed without outcome unknown");
        }
      } else if (s.status != 200) {
        ++safe_failures;
        note(s, "safe request failed");
      }
    }

  std::string shown;
  for (const auto& example : examples) shown += example;
  INFO("failures:\n" << shown);

  CHECK(total == kTotal);  // nothing cut short by the deadline
  CHECK(no_response == 0);
  CHECK(safe_failures == 0);
  CHECK(unkeyed_duplicates == 0);
  CHECK(unkeyed_bad == 0);
  CHECK(mismatched == 0);
  CHECK(missing_attempts == 0);
  CHECK(ok + unknown502 == total);

  // Nothing arrived that was not sent.
  int strays = 0;
  for (const auto& [path, list] : received) strays += paths.count(path) == 0;
  CHECK(strays == 0);

  // The restart really happened, and c served again after it.
  auto moved = [&](const std::string& family, const std::vector<std::string>& must) {
    return sum(after, family, must) - sum(before, family, must);
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
  CHECK(retries_counted == static_cast<double>(retries_seen));
  CHECK(moved("fulcrum_retries_refused_total",
              {"upstream=\"pool\"", "reason=\"non_idempotent\""}) == unknown502);
  CHECK(moved("fulcrum_retries_refused_total", {"upstream=\"pool\"", "reason=\"budget\""}) == 0);
  CHECK(moved("fulcrum_retries_refused_total",
              {"upstream=\"pool\"", "reason=\"body_too_large\""}) == 0);
  CHECK(moved("fulcrum_http_requests_total", {"upstream=\"pool\"", "code=\"200\""}) == ok);
  CHECK(moved("fulcrum_http_requests_total", {"upstream=\"pool\"", "code=\"502\""}) == unknown502);
  // Every receipt is an attempt that went out: never more receipts than attempts.
  CHECK(receipts <= static_cast<size_t>(total + retries_seen));
}
