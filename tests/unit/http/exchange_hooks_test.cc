// The hook points an Exchange gives the idempotency ledger: a step before
// forwarding that may end later, an answer the proxy makes itself, and the
// final response as it streams to the client. Driven on a real loop, with a
// socketpair as the client and a recording backend as the server.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "http/exchange.h"
#include "support/exchange_harness.h"
#include "support/recording_backend.h"

using namespace fulcrum;
using namespace std::chrono_literals;

namespace {

// Hooks that record what they see and decide as a test tells them.
struct RecordingHooks final : http::ExchangeHooks {
  void beforeForwarding(const http::RequestInfo&, http::ForwardDecision decision) override {
    ++asked;
    if (answer_at_once)
      decision.answer(*answer_at_once);
    else
      pending = decision;
  }
  void responseHead(const http::ResponseHead& head) override { head_status = head.status; }
  void responseBody(std::string_view bytes) override { body.append(bytes); }
  void responseEnded(bool complete) override { ended = complete ? 1 : 0; }

  std::optional<http::LocalAnswer> answer_at_once;
  std::optional<http::ForwardDecision> pending;
  int asked = 0;
  int head_status = 0;
  std::string body;
  int ended = -1;  // -1: not yet; 1: complete; 0: cut short
};

}  // namespace

TEST_CASE("exchange: the hooks' local answer goes to the client and no server is asked") {
  test::RecordingBackend backend("b");
  RecordingHooks hooks;
  hooks.answer_at_once = http::LocalAnswer{201, {{"X-Answer", "kept"}}, "first answer", "Kept"};
  test::ExchangeHarness harness(backend.port(), &hooks);
  harness.exchange().start();
  REQUIRE(harness.runUntil([&] { return harness.result().has_value(); }));
  CHECK(harness.result()->status == 201);
  CHECK_FALSE(harness.result()->error);
  CHECK(harness.result()->attempts == 0);
  REQUIRE(harness.runUntil(
      [&] { return harness.clientReceived().find("first answer") != std::string::npos; }));
  const std::string sent = harness.clientReceived();
  CHECK(sent.rfind("HTTP/1.1 201 Kept\r\n", 0) == 0);
  CHECK(sent.find("X-Answer: kept\r\n") != std::string::npos);
  CHECK(sent.find("Content-Length: 12\r\n") != std::string::npos);
  CHECK(backend.connections() == 0);
  // The hooks do not watch an answer they made.
  CHECK(hooks.ended == -1);
}

TEST_CASE(
    "exchange: forwarding waits for the hooks' decision, then the response streams past them") {
  test::RecordingBackend backend("b");
  RecordingHooks hooks;
  test::ExchangeHarness harness(backend.port(), &hooks);
  harness.exchange().start();
  CHECK(hooks.asked == 1);
  REQUIRE(hooks.pending.has_value());
  // Let the loop turn: nothing may reach the server before the decision.
  int turns = 0;
  REQUIRE(harness.runUntil([&] { return ++turns > 20; }));
  CHECK(backend.connections() == 0);
  CHECK_FALSE(harness.result().has_value());

  hooks.pending->proceed();
  REQUIRE(harness.runUntil([&] { return harness.result().has_value(); }));
  CHECK(harness.result()->status == 200);
  CHECK(backend.total() == 1);
  CHECK(hooks.head_status == 200);
  CHECK(hooks.body.find("b ") == 0);  // the backend's body: "NAME HASH\n"
  CHECK(hooks.ended == 1);
  // A second call, and a late one, change nothing.
  hooks.pending->proceed();
  hooks.pending->answer(http::LocalAnswer{500, {}, "late", ""});
  CHECK(backend.total() == 1);
}

TEST_CASE("exchange: a decision that arrives after the exchange is gone does nothing") {
  test::RecordingBackend backend("b");
  RecordingHooks hooks;
  std::optional<http::ForwardDecision> decision;
  {
    test::ExchangeHarness harness(backend.port(), &hooks);
    harness.exchange().start();
    REQUIRE(hooks.pending.has_value());
    decision = hooks.pending;
  }
  decision->proceed();
  decision->answer(http::LocalAnswer{});
  CHECK(backend.connections() == 0);
}
