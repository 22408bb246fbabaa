// One HTTP Exchange driven on a real loop, for unit tests of what the
// exchange does (its hooks, its admission): "GET / HTTP/1.1" from a
// socketpair client to one server on a loopback port, with the hooks and
// the circuit breaker a test gives. The test thread runs the loop.
#pragma once

#include <doctest/doctest.h>
#include <event2/buffer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "balance/registry.h"
#include "http/exchange.h"
#include "net/event_loop.h"
#include "net/timer.h"
#include "upstream/circuit_breaker.h"
#include "upstream/conn_pool.h"
#include "upstream/picker.h"

namespace fulcrum::test {

// Keeps what the exchange reported.
struct RecordingOwner final : http::ExchangeOwner {
  void exchangeFinished(http::Exchange&, const http::ExchangeResult& r) override { result = r; }
  void exchangeUpgraded(http::Exchange&, const http::ExchangeResult&,
                        std::unique_ptr<net::Stream>) override {}
  std::optional<http::ExchangeResult> result;
};

// One exchange for "GET / HTTP/1.1" to one server on `port`, with `hooks`.
class ExchangeHarness {
 public:
  ExchangeHarness(uint16_t port, http::ExchangeHooks* hooks,
                  std::shared_ptr<upstream::CircuitBreaker> breaker = nullptr) {
    net::EventLoop::enableThreads();
    upstream::Server server;
    server.label = "s";
    std::string why;
    REQUIRE(parseSocketAddress("127.0.0.1:" + std::to_string(port), server.address, why));
    upstream_.name = "pool";
    upstream_.servers.push_back(server);
    upstream_.strategy = balance::findStrategy("round_robin");
    upstream_.primaries.add(&upstream_.servers[0], 1);
    upstream_.retries.per_try_timeout = std::chrono::seconds(5);
    upstream_.breaker = std::move(breaker);
    picker_ = std::make_unique<upstream::UpstreamPicker>(upstream_, random_);
    pool_ = std::make_unique<upstream::ConnPool>(loop_, 1, 4, std::chrono::seconds(60));
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
    context.hooks = hooks;
    http::RequestInfo request;
    request.idempotent = true;
    net::Buffer head = net::newBuffer();
    const std::string text = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    evbuffer_add(head.get(), text.data(), text.size());
    exchange_ = std::make_unique<http::Exchange>(context, owner_, request, head.get());
  }
  ~ExchangeHarness() {
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
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    net::Timer poll(loop_, [&] {
      if (done() || std::chrono::steady_clock::now() > deadline)
        loop_.stop();
      else
        poll.arm(std::chrono::milliseconds(1));
    });
    poll.arm(std::chrono::milliseconds(0));
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
  RecordingOwner owner_;
  std::unique_ptr<http::Exchange> exchange_;
  std::string received_;
};

}  // namespace fulcrum::test
