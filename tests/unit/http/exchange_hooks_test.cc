// The hook points an Exchange gives the idempotency ledger: a step before
// forwarding that may end later, an answer the proxy makes itself, and the
// final response as it streams to the client. Driven on a real loop, with a
// socketpair as the client and a recording backend as the server.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "balance/registry.h"
#include "http/exchange.h"
#include "net/event_loop.h"
#include "net/timer.h"
#include "support/recording_backend.h"
#include "upstream/conn_pool.h"
#include "upstream/picker.h"

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

struct Owner final : http::ExchangeOwner {
  void exchangeFinished(http::Exchange&, const http::ExchangeResult& r) override { result = r; }
  void exchangeUpgraded(http::Exchange&, const http::ExchangeResult&,
                        std::unique_ptr<net::Stream>) override {}
  std::optional<http::ExchangeResult> result;
};

// One exchange for "GET / HTTP/1.1" to one server on `port`, with `hooks`.
class Harness {
 public:
  Harness(uint16_t port, http::ExchangeHooks& hooks) {
    net::EventLoop::enableThreads();
    upstream::Server server;
    server.label = "s";
    std::string why;
    REQUIRE(parseSocketAddress("127.0.0.1:" + std::to_string(port), server.address, why));
    upstream_.name = "pool";
    upstream_.servers.push_back(server);
    upstream_.strategy = balance::findStrategy("round_robin");
    upstream_.primaries.add(&upstream_.servers[0], 1);
    upstream_.retries.per_try_timeout = 5s;
    picker_ = std::make_unique<upstream::UpstreamPicker>(upstream_, random_);
    pool_ = std::make_unique<upstream::ConnPool>(loop_, 1, 4, 60s);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    client_ = net::Stream::overSocket(loop_, fds[0]);
    peer_ = fds[1];
    http::ExchangeContext context;
    context.loop = &loop_;
    context.client = client_.get();
    context.picker = picker_.get();
    context.pool = pool_.get();
    context.limits = &limits_;
    context.random = &random_;
    context.hooks = &hooks;
    http::RequestInfo request;
    request.idempotent = true;
    net::Buffer head = net::newBuffer();
    const std::string text = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    evbuffer_add(head.get(), text.data(), text.size());
    exchange_ = std::make_unique<http::Exchange>(context, owner_, request, head.get());
  }
  ~Harness() {
    exchange_.reset();
    client_.reset();
    ::close(peer_);
  }

  http::Exchange& exchange() { return *exchange_; }
  net::EventLoop& loop() { return loop_; }
  const std::optional<http::ExchangeResult>& result() const { return owner_.result; }

  // Runs the loop until `done` holds or 5 s pass; true if it held.
  template <class Done>
  bool runUntil(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    net::Timer poll(loop_, [&] {
      if (done() || std::chrono::steady_clock::now() > deadline)
        loop_.stop();
      else
        poll.arm(1ms);
    });
    poll.arm(0ms);
    loop_.run();
    return done();
  }
  // What the client has been sent so far.
  std::string clientReceived() {
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(peer_, buffer, sizeof(buffer), 0)) > 0)
      received_.append(buffer, static_cast<size_t>(n));
    return received_;
  }

 private:
  net::EventLoop loop_;
  Random random_{7};
  upstream::Upstream upstream_;
  std::unique_ptr<upstream::UpstreamPicker> picker_;
  std::unique_ptr<upstream::ConnPool> pool_;
  http::Limits limits_;
  std::unique_ptr<net::Stream> client_;
  int peer_ = -1;
  Owner owner_;
  std::unique_ptr<http::Exchange> exchange_;
  std::string received_;
};

}  // namespace

TEST_CASE("exchange: the hooks' local answer goes to the client and no server is asked") {
  test::RecordingBackend backend("b");
  RecordingHooks hooks;
  hooks.answer_at_once = http::LocalAnswer{201, {{"X-Answer", "kept"}}, "first answer"};
  Harness harness(backend.port(), hooks);
  harness.exchange().start();
  REQUIRE(harness.runUntil([&] { return harness.result().has_value(); }));
  CHECK(harness.result()->status == 201);
  CHECK_FALSE(harness.result()->error);
  CHECK(harness.result()->attempts == 0);
  REQUIRE(harness.runUntil(
      [&] { return harness.clientReceived().find("first answer") != std::string::npos; }));
  const std::string sent = harness.clientReceived();
  CHECK(sent.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
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
  Harness harness(backend.port(), hooks);
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
  hooks.pending->answer(http::LocalAnswer{500, {}, "late"});
  CHECK(backend.total() == 1);
}

TEST_CASE("exchange: a decision that arrives after the exchange is gone does nothing") {
  test::RecordingBackend backend("b");
  RecordingHooks hooks;
  std::optional<http::ForwardDecision> decision;
  {
    Harness harness(backend.port(), hooks);
    harness.exchange().start();
    REQUIRE(hooks.pending.has_value());
    decision = hooks.pending;
  }
  decision->proceed();
  decision->answer(http::LocalAnswer{});
  CHECK(backend.connections() == 0);
}
