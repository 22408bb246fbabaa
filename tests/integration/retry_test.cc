// Money-safe retries (DESIGN.md section 7, the retries contract) through the
// real proxy on loopback. Each row of the table is made to happen by a
// RecordingBackend, and each column is sent through it: a GET, a POST with
// an Idempotency-Key and a POST without one. What is checked is what a
// client and a ledger would see: the status and headers the client got,
// which backend received the request how many times (same key, same body),
// and the retry counters on the admin /metrics.
//
// The failing backend is the only primary and the answering one a backup:
// backups are picked only once every primary was tried, so the first
// attempt always meets the failure and a retry always lands on the backup.
// workers: 1, so one retry budget and one connection pool are in play.
// Every wait is on a response or a backend's record, with a deadline.
#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/json.h"
#include "support/payment_load.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// ---- config ---------------------------------------------------------------

// `retries` is the flow mapping after "retries: " (empty: no block, the
// defaults apply).
std::string upstreamYaml(const std::vector<const RecordingBackend*>& primaries,
                         const std::vector<const RecordingBackend*>& backups,
                         const std::string& retries) {
  std::string out =
      "global: { workers: 1, log: { level: debug, access: stdout },"
      " admin: { listen: 127.0.0.1:0 } }\n"
      // The tests' own request ids tie what each backend received to a call.
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool,\n"
      "      request_id: { trust_client: true } }\n"
      "upstreams:\n  pool:\n    balance: round_robin\n"
      "    timeouts: { connect: 2s, response: 10s }\n";
  if (!retries.empty()) out += "    retries: " + retries + "\n";
  out += "    servers:\n";
  for (const auto* backend : primaries)
    out += "      - { address: 127.0.0.1:" + std::to_string(backend->port()) + " }\n";
  for (const auto* backend : backups)
    out += "      - { address: 127.0.0.1:" + std::to_string(backend->port()) + ", backup: true }\n";
  return out;
}

// ---- requests -------------------------------------------------------------

struct Call {
  std::string method;
  std::string path;
  std::string request_id;
  std::optional<std::string> key;  // Idempotency-Key
  std::string body;

  std::string bytes() const {
    std::string out =
        method + " " + path + " HTTP/1.1\r\nHost: pay.test\r\nX-Request-Id: " + request_id + "\r\n";
    if (key) out += "Idempotency-Key: " + *key + "\r\n";
    if (method != "GET")
      out += "Content-Type: application/octet-stream\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n";
    return out + "\r\n" + body;
  }
};

// A unique path, request id and key per call, so receipts can be told apart.
// `name` becomes part of the path: letters and dashes.
Call makeCall(Column column, std::string name, size_t body_size = 700) {
  static int serial = 0;
  ++serial;
  for (char& c : name)
    if (c == ' ') c = '-';
  std::string tag = name + "-" + std::to_string(serial);
  Call call;
  call.path = "/pay/" + tag;
  call.request_id = "req-" + tag;
  if (column == Column::Get) {
    call.method = "GET";
  } else {
    call.method = "POST";
    call.body = patternBytes(body_size, static_cast<uint64_t>(serial));
    if (column == Column::KeyedPost) call.key = "key-" + tag;
  }
  return call;
}

// One request on its own client connection; nullopt if no response came.
std::optional<HttpMessage> send(uint16_t port, const Call& call) {
  Fd client = connectLoopback(port);
  if (!client || !writeAll(client.get(), call.bytes())) return std::nullopt;
  HttpReader reader(client.get());
  return reader.response(false, 15s);
}

// A response field's value, "(absent)" when it is not there.
std::string header(const HttpMessage& message, const std::string& name) {
  return message.field(name).value_or("(absent)");
}

// ---- metrics --------------------------------------------------------------

// fulcrum_retries_total and fulcrum_retries_refused_total of upstream "pool",
// by reason. A series that is not exported reads as absent (not 0), so a
// missing family shows in the failure output.
struct RetryCounters {
  std::map<std::string, double> retried;
  std::map<std::string, double> refused;
  bool has_retried = false;
  bool has_refused = false;
};

// {a="x",b="y"} -> map; values here never contain quotes or commas.
std::map<std::string, std::string> labels(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t eq = text.find('=', at);
    if (eq == std::string::npos) break;
    size_t open = text.find('"', eq);
    size_t close = text.find('"', open + 1);
    if (open == std::string::npos || close == std::string::npos) break;
    out[text.substr(at, eq - at)] = text.substr(open + 1, close - open - 1);
    at = close + 1;
    if (at < text.size() && text[at] == ',') ++at;
  }
  return out;
}

RetryCounters scrapeRetries(Proxy& proxy) {
  HttpMessage response = httpGet(proxy.adminPort(), "/metrics");
  REQUIRE(response.status == 200);
  RetryCounters counters;
  for (const auto& [series, value] : samples(response.body)) {
    size_t brace = series.find('{');
    if (brace == std::string::npos || series.back() != '}') continue;
    std::string name = series.substr(0, brace);
    if (name != "fulcrum_retries_total" && name != "fulcrum_retries_refused_total") continue;
    auto set = labels(series.substr(brace + 1, series.size() - brace - 2));
    if (set["upstream"] != "pool") continue;
    if (name == "fulcrum_retries_total") {
      counters.has_retried = true;
      counters.retried[set["reason"]] = value;
    } else {
      counters.has_refused = true;
      counters.refused[set["reason"]] = value;
    }
  }
  return counters;
}

// How much each reason moved between two scrapes (absent = 0 on both sides).
std::map<std::string, double> moved(const std::map<std::string, double>& before,
                                    const std::map<std::string, double>& after) {
  std::map<std::string, double> out;
  for (const auto& [reason, value] : after) {
    auto old = before.find(reason);
    double delta = value - (old == before.end() ? 0 : old->second);
    if (delta != 0) out[reason] = delta;
  }
  return out;
}

std::string show(const std::map<std::string, double>& counts) {
  std::string out = "{";
  for (const auto& [reason, value] : counts)
    out += " " + reason + "=" + std::to_string(static_cast<long>(value));
  return out + " }";
}

// ---- one request through a fleet ------------------------------------------

struct Observed {
  Call call;
  std::optional<HttpMessage> response;
  std::map<std::string, double> retried;  // moved during the request
  std::map<std::string, double> refused;
  bool metrics_exported = false;
  std::string log;  // the proxy's lines about this request, for failure output
};

std::string proxyLines(Proxy& proxy, const Call& call) {
  std::string out;
  for (const auto& line : proxy.process().lines())
    if (line.find(call.request_id) != std::string::npos ||
        line.find(call.path) != std::string::npos)
      out += line + "\n";
  return out;
}

Observed observe(Proxy& proxy, uint16_t port, const Call& call) {
  Observed seen;
  seen.call = call;
  RetryCounters before = scrapeRetries(proxy);
  seen.response = send(port, call);
  RetryCounters after = scrapeRetries(proxy);
  seen.metrics_exported = after.has_retried && after.has_refused;
  seen.retried = moved(before.retried, after.retried);
  seen.refused = moved(before.refused, after.refused);
  seen.log = proxyLines(proxy, call);
  return seen;
}

// Receipts of this call's path at one backend.
std::vector<ReceivedRequest> receipts(const RecordingBackend& backend, const Call& call) {
  std::vector<ReceivedRequest> out;
  for (auto& request : backend.requests())
    if (request.path == call.path) out.push_back(request);
  return out;
}

// The receipt is this very request: same method, key, body and request id.
void checkSameRequest(const ReceivedRequest& got, const Call& call) {
  CHECK(got.method == call.method);
  CHECK(got.idempotency_key.value_or("(none)") == call.key.value_or("(none)"));
  CHECK(got.body_size == call.body.size());
  CHECK(hexHash(got.body_hash) == hexHash(bodyHash(call.body)));
  CHECK(got.request_id.value_or("(none)") == call.request_id);
}

// The request failed on the primary `a` and was retried on the backup `b`,
// which answered 200. `a_received`: how often `a` got it completely (0 when
// the failure came before it read the request).
void expectRetriedOnBackup(const Observed& seen, const RecordingBackend& a,
                           const RecordingBackend& b, int a_received, const std::string& reason) {
  INFO("proxy log:\n" << seen.log);
  INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
  REQUIRE(seen.response);
  const HttpMessage& response = *seen.response;
  CHECK(response.status == 200);
  CHECK(header(response, "X-Backend") == b.name());
  CHECK(header(response, "X-Fulcrum-Attempts") == "2");
  CHECK_FALSE(response.field("X-Fulcrum-Outcome").has_value());
  // The backup computed the hash of the body it got: the replay is whole.
  CHECK(header(response, "X-Body-Hash") == hexHash(bodyHash(seen.call.body)));

  auto at_a = receipts(a, seen.call);
  auto at_b = receipts(b, seen.call);
  CHECK(static_cast<int>(at_a.size()) == a_received);
  REQUIRE(at_b.size() == 1);
  checkSameRequest(at_b[0], seen.call);
  for (const auto& got : at_a) checkSameRequest(got, seen.call);  // same key, same body

  CHECK(seen.metrics_exported);
  CHECK(seen.retried == std::map<std::string, double>{{reason, 1}});
  CHECK(seen.refused.empty());
}

// Not retried because it may have been processed: 502 and "outcome unknown".
void expectOutcomeUnknown(const Observed& seen, const RecordingBackend& a,
                          const RecordingBackend& b, int a_received) {
  INFO("proxy log:\n" << seen.log);
  INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
  REQUIRE(seen.response);
  const HttpMessage& response = *seen.response;
  INFO("body: " << response.body);
  CHECK(response.status == 502);
  CHECK(header(response, "X-Fulcrum-Outcome") == "unknown");
  CHECK(header(response, "X-Fulcrum-Attempts") == "1");
  CHECK(response.field("Content-Type").value_or("").find("application/json") == 0);
  CHECK(response.body.find("\"status\":502") != std::string::npos);
  CHECK(response.body.find("\"outcome\":\"unknown\"") != std::string::npos);
  CHECK(response.body.find("\"request_id\":\"" + seen.call.request_id + "\"") != std::string::npos);

  auto at_a = receipts(a, seen.call);
  CHECK(static_cast<int>(at_a.size()) == a_received);
  for (const auto& got : at_a) checkSameRequest(got, seen.call);
  CHECK(receipts(b, seen.call).empty());  // never sent to a second server

  CHECK(seen.metrics_exported);
  CHECK(seen.retried.empty());
  CHECK(seen.refused == std::map<std::string, double>{{"non_idempotent", 1}});
}

// A primary `a` that misbehaves and a backup `b` that answers.
struct PrimaryAndBackup {
  RecordingBackend a;
  RecordingBackend b{"b"};
  Proxy proxy;
  uint16_t port;

  explicit PrimaryAndBackup(Behaviour behaviour, const std::string& retries = "")
      : a("a", behaviour), proxy(upstreamYaml({&a}, {&b}, retries)), port(proxy.port("web")) {}

  Observed run(Column column, size_t body_size = 700) {
    return observe(proxy, port, makeCall(column, columnName(column), body_size));
  }
};

// ---- the keep-alive race --------------------------------------------------

// Two primaries that close a kept-alive connection when its second request
// arrives. After warmUp() each has served one request and the proxy holds
// one idle connection to each: the next request (round robin, either one)
// goes out on a connection the server is about to close under it.
struct PooledRace {
  RecordingBackend a{"a", Behaviour::ClosePooledOnNextRequest};
  RecordingBackend b{"b", Behaviour::ClosePooledOnNextRequest};
  Proxy proxy;
  uint16_t port;
  std::chrono::steady_clock::time_point warmed;

  explicit PooledRace(const std::string& retries)
      : proxy(upstreamYaml({&a, &b}, {}, retries)), port(proxy.port("web")) {}

  void warmUp() {
    // Round robin alternates: two requests reach both; a few more are allowed
    // in case the cursor does not (each is a fresh GET, safe either way).
    for (int i = 0; i < 6 && (a.total() == 0 || b.total() == 0); ++i) {
      auto response = send(port, makeCall(Column::Get, "warm"));
      REQUIRE(response);
      REQUIRE(response->status == 200);
    }
    REQUIRE(a.total() >= 1);
    REQUIRE(b.total() >= 1);
    // The proxy pools a connection as its response goes out: every "last
    // used" it keeps is at most a moment before this instant.
    warmed = std::chrono::steady_clock::now();
  }

  std::vector<ReceivedRequest> receiptsOf(const Call& call) const {
    auto out = receipts(a, call);
    for (auto& got : receipts(b, call)) out.push_back(got);
    return out;
  }
};

// With `retries` as written, every method whose connect to the primary is
// refused reaches the backup once: the failed connect used no attempt and
// no budget.
void checkRefusedConnectMovesOn(const std::string& retries) {
  for (Column column : {Column::Get, Column::KeyedPost, Column::UnkeyedPost}) {
    CAPTURE(columnName(column));
    PrimaryAndBackup fleet(Behaviour::Refuse, retries);
    Observed seen = fleet.run(column);
    INFO("proxy log:\n" << seen.log);
    REQUIRE(seen.response);
    CHECK(seen.response->status == 200);
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "2");
    CHECK(receipts(fleet.b, seen.call).size() == 1);
    CHECK(seen.retried == std::map<std::string, double>{{"connect_failure", 1}});
    CHECK(seen.refused.empty());
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Row 1: connect failed, nothing sent -> every column is retried.

TEST_CASE("retry: a refused connect is retried on another server, for every method") {
  // Nothing was sent, so even an unkeyed POST is safe to send elsewhere.
  auto check = [](Column column) {
    PrimaryAndBackup fleet(Behaviour::Refuse);
    Observed seen = fleet.run(column);
    expectRetriedOnBackup(seen, fleet.a, fleet.b, 0, "connect_failure");
    CHECK(fleet.a.connections() == 0);
  };
  SUBCASE("GET") {
    check(Column::Get);
  }
  SUBCASE("keyed POST") {
    check(Column::KeyedPost);
  }
  SUBCASE("unkeyed POST") {
    check(Column::UnkeyedPost);
  }
}

// ---------------------------------------------------------------------------
// Row 2: sent, no response byte -> GET and keyed retried, unkeyed never.

TEST_CASE("retry: a reset before the server read the request") {
  // The backend resets once the request's first bytes are in, unread. The
  // proxy cannot tell "not read" from "read, processed, then crashed": the
  // request left it, so an unkeyed POST is never sent again.
  SUBCASE("GET is retried on another server") {
    PrimaryAndBackup fleet(Behaviour::ResetBeforeRead);
    expectRetriedOnBackup(fleet.run(Column::Get), fleet.a, fleet.b, 0, "reset");
  }
  SUBCASE("keyed POST is retried with the same key and body") {
    PrimaryAndBackup fleet(Behaviour::ResetBeforeRead);
    expectRetriedOnBackup(fleet.run(Column::KeyedPost), fleet.a, fleet.b, 0, "reset");
  }
  SUBCASE("unkeyed POST gets 502 outcome unknown") {
    PrimaryAndBackup fleet(Behaviour::ResetBeforeRead);
    expectOutcomeUnknown(fleet.run(Column::UnkeyedPost), fleet.a, fleet.b, 0);
  }
}

TEST_CASE("retry: a reset after the server read the request") {
  SUBCASE("GET is retried on another server") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset);
    expectRetriedOnBackup(fleet.run(Column::Get), fleet.a, fleet.b, 1, "reset");
  }
  SUBCASE("keyed POST is retried with the same key and body") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset);
    expectRetriedOnBackup(fleet.run(Column::KeyedPost), fleet.a, fleet.b, 1, "reset");
  }
  SUBCASE("unkeyed POST gets 502 outcome unknown, received once") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset);
    expectOutcomeUnknown(fleet.run(Column::UnkeyedPost), fleet.a, fleet.b, 1);
  }
}

TEST_CASE("retry: no response within per_try_timeout") {
  // The backend reads the request and never answers; the attempt times out
  // after per_try_timeout (not timeouts.response, 10s here).
  const std::string retries = "{ per_try_timeout: 300ms }";
  SUBCASE("GET is retried on another server") {
    PrimaryAndBackup fleet(Behaviour::ReadThenStall, retries);
    auto started = std::chrono::steady_clock::now();
    Observed seen = fleet.run(Column::Get);
    expectRetriedOnBackup(seen, fleet.a, fleet.b, 1, "timeout");
    // Bounds a hang only: far below the 10s response timeout.
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
  SUBCASE("keyed POST is retried with the same key and body") {
    PrimaryAndBackup fleet(Behaviour::ReadThenStall, retries);
    expectRetriedOnBackup(fleet.run(Column::KeyedPost), fleet.a, fleet.b, 1, "timeout");
  }
  SUBCASE("unkeyed POST gets 502 outcome unknown, received once") {
    PrimaryAndBackup fleet(Behaviour::ReadThenStall, retries);
    expectOutcomeUnknown(fleet.run(Column::UnkeyedPost), fleet.a, fleet.b, 1);
  }
}

// ---------------------------------------------------------------------------
// Row 3: the server answered 503 -> GET and keyed retried; the unkeyed POST
// gets the server's own answer.

TEST_CASE("retry: a 503 from the server") {
  SUBCASE("GET is retried on another server") {
    PrimaryAndBackup fleet(Behaviour::Answer503);
    expectRetriedOnBackup(fleet.run(Column::Get), fleet.a, fleet.b, 1, "503");
  }
  SUBCASE("keyed POST is retried with the same key and body") {
    PrimaryAndBackup fleet(Behaviour::Answer503);
    expectRetriedOnBackup(fleet.run(Column::KeyedPost), fleet.a, fleet.b, 1, "503");
  }
  SUBCASE("unkeyed POST gets the server's 503 itself, received once") {
    PrimaryAndBackup fleet(Behaviour::Answer503);
    Observed seen = fleet.run(Column::UnkeyedPost);
    INFO("proxy log:\n" << seen.log);
    INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
    REQUIRE(seen.response);
    CHECK(seen.response->status == 503);
    CHECK(header(*seen.response, "X-Backend") == "a");  // its answer
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
    CHECK_FALSE(
        seen.response->field("X-Fulcrum-Outcome").has_value());  // the outcome is known: 503
    auto at_a = receipts(fleet.a, seen.call);
    REQUIRE(at_a.size() == 1);
    checkSameRequest(at_a[0], seen.call);
    CHECK(receipts(fleet.b, seen.call).empty());
    CHECK(seen.metrics_exported);
    CHECK(seen.retried.empty());
    // The server answered: the outcome is known, so this is not one of the
    // non_idempotent refusals (those are exactly the outcome-unknown 502s).
    CHECK(seen.refused.empty());
  }
}

// ---------------------------------------------------------------------------
// The keep-alive race: a pooled connection the server closes as the request
// arrives. The server never processed it (the backend does not record it),
// but the proxy cannot know that.

TEST_CASE("retry: a pooled connection closed under a GET or keyed POST is re-sent fresh") {
  // Re-sent on a fresh connection: counted as an attempt (2) and as
  // retries_total{reason="stale_connection"}.
  auto check = [](Column column) {
    PooledRace race("");
    race.warmUp();
    int connections_before = race.a.connections() + race.b.connections();
    Observed seen = observe(race.proxy, race.port, makeCall(column, "race"));
    INFO("proxy log:\n" << seen.log);
    INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
    REQUIRE(seen.response);
    CHECK(seen.response->status == 200);
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "2");
    CHECK(header(*seen.response, "X-Body-Hash") == hexHash(bodyHash(seen.call.body)));
    auto got = race.receiptsOf(seen.call);
    REQUIRE(got.size() == 1);  // the closed-on request was never received
    checkSameRequest(got[0], seen.call);
    CHECK(got[0].index_on_connection == 0);  // on a fresh connection
    CHECK(race.a.connections() + race.b.connections() == connections_before + 1);
    CHECK(seen.metrics_exported);
    CHECK(seen.retried == std::map<std::string, double>{{"stale_connection", 1}});
    CHECK(seen.refused.empty());
  };
  SUBCASE("GET") {
    check(Column::Get);
  }
  SUBCASE("keyed POST") {
    check(Column::KeyedPost);
  }
}

// Two tests for the unkeyed POST, because the contract gives it two ways
// out of the race, depending on how old the pooled connection is:
// - older than reuse_safe_window: the proxy does not reuse it; the POST
//   opens a fresh connection and never meets the race (succeeds);
// - younger (the default window is 2s, our connection is milliseconds
//   old): it is reused, the server closes it, and since the proxy cannot
//   tell "closed before reading" from "read, then died", the client gets
//   502 outcome unknown and nothing is re-sent.

TEST_CASE("retry: the keep-alive race on a server that died moves on to another server") {
  // A's kept-alive connection closes under the request and A no longer
  // listens: the fresh connect to A is refused, and the request, which A
  // never read, goes to B within its two attempts.
  RecordingBackend a{"a", Behaviour::DieOnPooledRequest};
  RecordingBackend b{"b"};
  Proxy proxy(upstreamYaml({&a, &b}, {}, "{ attempts: 2 }"));
  const uint16_t port = proxy.port("web");
  for (int i = 0; i < 6 && (a.total() == 0 || b.total() == 0); ++i) {
    auto response = send(port, makeCall(Column::Get, "warm"));
    REQUIRE(response);
    REQUIRE(response->status == 200);
  }
  REQUIRE(a.total() >= 1);
  const int a_before = a.total();
  bool hit_a = false;
  for (int i = 0; i < 4; ++i) {
    const Column column = i % 2 == 0 ? Column::KeyedPost : Column::Get;
    CAPTURE(columnName(column));
    Call call = makeCall(column, "died-" + std::to_string(i));
    auto response = send(port, call);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(header(*response, "X-Fulcrum-Outcome") == "(absent)");
    CHECK(receipts(b, call).size() == 1);
    hit_a = hit_a || header(*response, "X-Fulcrum-Attempts") == "3";
  }
  // Round robin sent one of them to A's kept-alive connection: its stale
  // try, its refused connect, then B.
  CHECK(hit_a);
  CHECK(a.total() == a_before);
}

TEST_CASE("retry: an unkeyed POST opens a fresh connection past reuse_safe_window") {
  PooledRace race("{ reuse_safe_window: 1ms }");
  race.warmUp();
  // The window is a duration, so what we wait for is the clock: until the
  // pooled connections are surely older than 1ms (with a wide margin).
  REQUIRE(waitUntil([&] { return std::chrono::steady_clock::now() - race.warmed >= 20ms; }, 1s));
  int connections_before = race.a.connections() + race.b.connections();
  Observed seen = observe(race.proxy, race.port, makeCall(Column::UnkeyedPost, "fresh"));
  INFO("proxy log:\n" << seen.log);
  INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
  REQUIRE(seen.response);
  CHECK(seen.response->status == 200);
  CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
  CHECK_FALSE(seen.response->field("X-Fulcrum-Outcome").has_value());
  auto got = race.receiptsOf(seen.call);
  REQUIRE(got.size() == 1);
  checkSameRequest(got[0], seen.call);
  CHECK(got[0].index_on_connection == 0);  // a new connection, not the pooled one
  CHECK(race.a.connections() + race.b.connections() == connections_before + 1);
  CHECK(seen.metrics_exported);
  CHECK(seen.retried.empty());
  CHECK(seen.refused.empty());
}

TEST_CASE("retry: an unkeyed POST on a young pooled connection that closes gets outcome unknown") {
  PooledRace race("");  // reuse_safe_window: 2s (the default)
  race.warmUp();
  Observed seen = observe(race.proxy, race.port, makeCall(Column::UnkeyedPost, "young"));
  // The premise: the pooled connection was younger than the window.
  REQUIRE(std::chrono::steady_clock::now() - race.warmed < 1500ms);
  INFO("proxy log:\n" << seen.log);
  INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
  REQUIRE(seen.response);
  CHECK(seen.response->status == 502);
  CHECK(header(*seen.response, "X-Fulcrum-Outcome") == "unknown");
  CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
  CHECK(seen.response->body.find("\"outcome\":\"unknown\"") != std::string::npos);
  CHECK(seen.response->body.find("\"request_id\":\"" + seen.call.request_id + "\"") !=
        std::string::npos);
  CHECK(race.receiptsOf(seen.call).empty());  // closed unread, and never re-sent
  CHECK(seen.metrics_exported);
  CHECK(seen.retried.empty());
  CHECK(seen.refused == std::map<std::string, double>{{"non_idempotent", 1}});
}

// ---------------------------------------------------------------------------
// What every retry also needs: budget, a replayable body, attempts left.

TEST_CASE("retry: an exhausted budget refuses the retry and the failure goes to the client") {
  const std::string no_budget = "{ budget_percent: 0, budget_min_per_second: 0 }";
  auto check = [&](Column column) {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset, no_budget);
    Observed seen = fleet.run(column);
    INFO("proxy log:\n" << seen.log);
    INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
    REQUIRE(seen.response);
    CHECK(seen.response->status == 502);
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
    CHECK(receipts(fleet.a, seen.call).size() == 1);
    CHECK(receipts(fleet.b, seen.call).empty());
    CHECK(seen.metrics_exported);
    CHECK(seen.retried.empty());
    CHECK(seen.refused == std::map<std::string, double>{{"budget", 1}});
  };
  SUBCASE("GET") {
    check(Column::Get);
  }
  SUBCASE("keyed POST") {
    check(Column::KeyedPost);
  }
}

TEST_CASE("retry: every entry of attempt_log says where its time went") {
  PrimaryAndBackup fleet(Behaviour::Refuse);
  Observed seen = fleet.run(Column::KeyedPost);
  REQUIRE(seen.response);
  CHECK(seen.response->status == 200);
  // The access log line is written by its own thread: wait for it.
  auto line = nthLine(
      fleet.proxy.process(),
      [&](const std::string& text) {
        return text.find(seen.call.request_id) != std::string::npos &&
               text.find("\"attempt_log\"") != std::string::npos;
      },
      1);
  REQUIRE(line);
  const Json entry = parseJson(*line);
  const Json& attempts = entry["attempt_log"];
  REQUIRE(attempts.size() == 2);
  // The refused connect: its connect took time, no server time at all.
  CHECK(attempts[0]["phase"].str() == "not_sent");
  CHECK(attempts[0]["connect_ms"].num() >= 0);
  CHECK(attempts[0]["response_ms"].null());
  // The backup: a connect, then the wait for its response head.
  CHECK(attempts[1]["phase"].str() == "response");
  CHECK(attempts[1]["connect_ms"].num() >= 0);
  CHECK(attempts[1]["response_ms"].num() >= 0);
}

TEST_CASE("retry: a refused connect moves on even with the retry budget spent") {
  // Nothing was sent: the next server costs the fleet nothing, so a budget
  // spent by real retries does not turn a dead server into client errors.
  checkRefusedConnectMovesOn("{ budget_percent: 0, budget_min_per_second: 0 }");
}

TEST_CASE("retry: the keep-alive race re-send is not held to the budget") {
  PooledRace race("{ budget_percent: 0, budget_min_per_second: 0 }");
  race.warmUp();
  Observed seen = observe(race.proxy, race.port, makeCall(Column::Get, "stale-budget"));
  INFO("proxy log:\n" << seen.log);
  INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
  REQUIRE(seen.response);
  CHECK(seen.response->status == 200);
  CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "2");
  CHECK(race.receiptsOf(seen.call).size() == 1);
  CHECK(seen.retried == std::map<std::string, double>{{"stale_connection", 1}});
  CHECK(seen.refused.empty());
}

TEST_CASE("retry: a keyed POST body larger than retry_buffer is not replayed") {
  // retry_buffer counts head and body: a 4k body cannot be kept in 1k, a
  // 300-byte one can (with a head of a few hundred bytes).
  const std::string small_buffer = "{ retry_buffer: 1k }";
  SUBCASE("4k body: refused body_too_large, 502, received once") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset, small_buffer);
    Observed seen = fleet.run(Column::KeyedPost, 4096);
    INFO("proxy log:\n" << seen.log);
    INFO("retried moved " << show(seen.retried) << ", refused moved " << show(seen.refused));
    REQUIRE(seen.response);
    CHECK(seen.response->status == 502);
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
    auto at_a = receipts(fleet.a, seen.call);
    REQUIRE(at_a.size() == 1);
    checkSameRequest(at_a[0], seen.call);  // the whole 4k did go out once
    CHECK(receipts(fleet.b, seen.call).empty());
    CHECK(seen.metrics_exported);
    CHECK(seen.retried.empty());
    CHECK(seen.refused == std::map<std::string, double>{{"body_too_large", 1}});
  }
  SUBCASE("300-byte body: retried") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset, small_buffer);
    expectRetriedOnBackup(fleet.run(Column::KeyedPost, 300), fleet.a, fleet.b, 1, "reset");
  }
}

TEST_CASE("retry: attempts: 1 never sends a request twice, but a refused connect moves on") {
  SUBCASE("a GET reset after it was read: 502, nothing sent to the backup") {
    PrimaryAndBackup fleet(Behaviour::ReadThenReset, "{ attempts: 1 }");
    Observed seen = fleet.run(Column::Get);
    INFO("proxy log:\n" << seen.log);
    REQUIRE(seen.response);
    CHECK(seen.response->status == 502);
    CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
    CHECK(receipts(fleet.a, seen.call).size() == 1);
    CHECK(fleet.b.total() == 0);
    CHECK(fleet.b.connections() == 0);
    CHECK(seen.retried.empty());
    CHECK(seen.refused.empty());  // no attempt left is not a refusal
  }
  SUBCASE("a request whose connect is refused goes to the backup: nothing was sent") {
    checkRefusedConnectMovesOn("{ attempts: 1 }");
  }
}

TEST_CASE("retry: X-Fulcrum-Attempts is on every proxied response by default") {
  PrimaryAndBackup fleet(Behaviour::Answer);
  Observed seen = fleet.run(Column::Get);
  REQUIRE(seen.response);
  CHECK(seen.response->status == 200);
  CHECK(header(*seen.response, "X-Backend") == "a");
  CHECK(header(*seen.response, "X-Fulcrum-Attempts") == "1");
  CHECK(seen.retried.empty());
}

TEST_CASE("retry: attempts_header: false removes X-Fulcrum-Attempts") {
  PrimaryAndBackup fleet(Behaviour::Refuse, "{ attempts_header: false }");
  Observed retried = fleet.run(Column::Get);
  INFO("proxy log:\n" << retried.log);
  REQUIRE(retried.response);
  CHECK(retried.response->status == 200);
  CHECK(header(*retried.response, "X-Backend") == "b");
  CHECK(retried.response->count("X-Fulcrum-Attempts") == 0);
  CHECK(retried.retried == std::map<std::string, double>{{"connect_failure", 1}});

  // Nor on fulcrum's own 502.
  REQUIRE(fleet.a.setBehaviour(Behaviour::ReadThenReset));
  Observed unknown = fleet.run(Column::UnkeyedPost);
  INFO("proxy log:\n" << unknown.log);
  REQUIRE(unknown.response);
  CHECK(unknown.response->status == 502);
  CHECK(header(*unknown.response, "X-Fulcrum-Outcome") == "unknown");
  CHECK(unknown.response->count("X-Fulcrum-Attempts") == 0);
}
