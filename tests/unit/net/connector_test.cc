#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>

#include "core/errno_text.h"
#include "net/connector.h"
#include "net/socket_transport.h"
#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using net::ConnectFailure;
using net::IoResult;
using test::runUntil;

namespace {

// What a connect's callback got, and whether it ran at all.
struct Outcome {
  bool called = false;
  net::ConnectResult result;
};

net::Connector::Callback recordInto(Outcome& outcome) {
  return [&outcome](net::ConnectResult result) {
    outcome.called = true;
    outcome.result = std::move(result);
  };
}

// The plain socket with a handshake of the test's making, as TLS's would be.
class ScriptedHandshake final : public net::Transport {
 public:
  ScriptedHandshake(int fd, std::function<IoResult(int fd)> step, int& calls, std::string reason)
      : socket_(fd), step_(std::move(step)), calls_(calls), reason_(std::move(reason)) {}
  int fd() const override { return socket_.fd(); }
  IoResult handshake() override {
    ++calls_;
    return step_(socket_.fd());
  }
  IoResult read(void* into, size_t size) override { return socket_.read(into, size); }
  IoResult write(evbuffer* from) override { return socket_.write(from); }
  void shutdownWrite() override { socket_.shutdownWrite(); }
  std::string failureReason() const override { return reason_; }

 private:
  net::SocketTransport socket_;
  std::function<IoResult(int fd)> step_;
  int& calls_;
  std::string reason_;
};

// `reason`: what the transport says of its failures ("" = the errno).
net::TransportFactory handshakeAnswering(std::function<IoResult(int fd)> step, int& calls,
                                         std::string reason = "") {
  return [step = std::move(step), &calls, reason = std::move(reason)](int fd) {
    return std::make_unique<ScriptedHandshake>(fd, step, calls, reason);
  };
}

// A loop and a loopback listener that accepts (in the kernel) and never
// speaks unless the test makes it. Members die in reverse: results (and
// their streams) before the loop.
struct ConnectTest {
  ConnectTest() : listener(test::listenLoopback(port)) { REQUIRE(listener); }
  SocketAddress listening() const { return test::loopbackAddress(port); }
  // Runs the loop until `outcome`'s callback ran.
  bool waitFor(const Outcome& outcome) {
    return runUntil(loop, [&] { return outcome.called; });
  }

  net::EventLoop loop;
  uint16_t port = 0;
  test::Fd listener;
  net::Connector connector{loop};
  Outcome outcome;
};

}  // namespace

TEST_CASE("connector: a connect to a loopback listener ends in a stream, from the loop") {
  ConnectTest t;
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome));
  CHECK_FALSE(t.outcome.called);  // never inside connect()
  REQUIRE(t.waitFor(t.outcome));
  REQUIRE(t.outcome.result.ok());
  CHECK(t.outcome.result.failure == ConnectFailure::None);
  CHECK(t.outcome.result.error_number == 0);

  // It is the listener's connection: what the stream sends arrives there.
  test::Fd accepted(accept4(t.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(accepted);
  net::Stream& stream = *t.outcome.result.stream;
  evbuffer_add(stream.output(), "hi", 2);
  stream.flush();
  std::string got;
  CHECK(test::readExactly(accepted.get(), got, 2));
  CHECK(got == "hi");
}

TEST_CASE("connector: a connect to a closed loopback port is refused with ECONNREFUSED") {
  ConnectTest t;
  uint16_t closed_port = 0;
  test::Fd bound = test::refusingPort(closed_port);
  t.connector.connect(test::loopbackAddress(closed_port), 5s, recordInto(t.outcome));
  CHECK_FALSE(t.outcome.called);
  REQUIRE(t.waitFor(t.outcome));
  CHECK_FALSE(t.outcome.result.ok());
  CHECK(t.outcome.result.failure == ConnectFailure::Refused);
  CHECK(t.outcome.result.error_number == ECONNREFUSED);
  CHECK(t.outcome.result.detail == errnoText(ECONNREFUSED));
  CHECK_FALSE(t.outcome.result.local());
}

TEST_CASE("connector: a handshake that never completes times out, and says it was the handshake") {
  ConnectTest t;
  int calls = 0;
  t.connector.connect(t.listening(), 100ms, recordInto(t.outcome),
                      handshakeAnswering([](int) { return IoResult::wantRead(); }, calls));
  REQUIRE(t.waitFor(t.outcome));
  CHECK(calls >= 1);
  CHECK(t.outcome.result.failure == ConnectFailure::Timeout);
  CHECK(t.outcome.result.detail.starts_with("handshake timed out"));
  CHECK(t.outcome.result.detail == "handshake timed out after 100ms");
}

TEST_CASE("connector: a failed handshake is a Handshake failure, with its errno") {
  ConnectTest t;
  int calls = 0;
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome),
                      handshakeAnswering([](int) { return IoResult::failed(EPROTO); }, calls));
  REQUIRE(t.waitFor(t.outcome));
  CHECK_FALSE(t.outcome.result.ok());
  CHECK(t.outcome.result.failure == ConnectFailure::Handshake);
  CHECK(t.outcome.result.error_number == EPROTO);
  CHECK(t.outcome.result.detail == "handshake failed: " + errnoText(EPROTO));

  Outcome closed;
  t.connector.connect(t.listening(), 5s, recordInto(closed),
                      handshakeAnswering([](int) { return IoResult::eof(); }, calls));
  REQUIRE(t.waitFor(closed));
  CHECK(closed.result.failure == ConnectFailure::Handshake);
  CHECK(closed.result.detail == "handshake failed: the server closed the connection");
}

TEST_CASE("connector: a failed handshake says the transport's own reason when it has one") {
  ConnectTest t;
  int calls = 0;
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome),
                      handshakeAnswering([](int) { return IoResult::failed(EPROTO); }, calls,
                                         "certificate verify failed (hostname mismatch)"));
  REQUIRE(t.waitFor(t.outcome));
  CHECK(t.outcome.result.failure == ConnectFailure::Handshake);
  CHECK(t.outcome.result.detail ==
        "handshake failed: certificate verify failed (hostname mismatch)");
}

TEST_CASE("connector: the preamble goes out in clear before the transport's handshake") {
  ConnectTest t;
  int calls = 0;
  // The handshake's first bytes, as a ClientHello would be.
  auto step = [](int fd) {
    return send(fd, "HELLO", 5, MSG_NOSIGNAL) == 5 ? IoResult::done(0) : IoResult::failed(EIO);
  };
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome), handshakeAnswering(step, calls),
                      "PROXY LOCAL\r\n");
  REQUIRE(t.waitFor(t.outcome));
  REQUIRE(t.outcome.result.ok());
  test::Fd accepted(accept4(t.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  std::string got;
  REQUIRE(test::readExactly(accepted.get(), got, 18));
  CHECK(got == "PROXY LOCAL\r\nHELLO");
  // A plain socket sends it too, before anything the stream sends.
  Outcome plain;
  t.connector.connect(t.listening(), 5s, recordInto(plain), nullptr, "P1");
  REQUIRE(t.waitFor(plain));
  REQUIRE(plain.result.ok());
  evbuffer_add(plain.result.stream->output(), "GET", 3);
  plain.result.stream->flush();
  test::Fd second(accept4(t.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  got.clear();
  REQUIRE(test::readExactly(second.get(), got, 5));
  CHECK(got == "P1GET");
}

TEST_CASE("connector: a transport that cannot be made is fulcrum's own failure") {
  ConnectTest t;
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome), [](int fd) {
    ::close(fd);  // as a factory that fails must
    return std::unique_ptr<net::Transport>();
  });
  REQUIRE(t.waitFor(t.outcome));
  CHECK_FALSE(t.outcome.result.ok());
  CHECK(t.outcome.result.local());
}

TEST_CASE("connector: a handshake that waits for the server's bytes completes when they come") {
  ConnectTest t;
  int calls = 0;
  // Done once a byte from the server is there to read, as a TLS client
  // needs the ServerHello.
  auto step = [](int fd) {
    char byte;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1 ? IoResult::done(0)
                                                            : IoResult::wantRead();
  };
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome), handshakeAnswering(step, calls));
  REQUIRE(runUntil(t.loop, [&] { return calls >= 1; }));
  test::runReady(t.loop);
  CHECK_FALSE(t.outcome.called);

  test::Fd accepted(accept4(t.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(test::writeAll(accepted.get(), "S"));
  REQUIRE(t.waitFor(t.outcome));
  CHECK(t.outcome.result.ok());
  CHECK(calls >= 2);
}

TEST_CASE("connector: a cancelled, replaced or destroyed connect never calls its callback") {
  ConnectTest t;
  Outcome destroyed, cancelled, replaced;
  auto doomed = std::make_unique<net::Connector>(t.loop);
  doomed->connect(t.listening(), 5s, recordInto(destroyed));
  doomed.reset();
  net::Connector cancelling(t.loop);
  cancelling.connect(t.listening(), 5s, recordInto(cancelled));
  cancelling.cancel();
  t.connector.connect(t.listening(), 5s, recordInto(replaced));
  t.connector.connect(t.listening(), 5s, recordInto(t.outcome));  // cancels the one before

  // The last connect completing shows the loop ran long enough for the
  // others to have completed too, had they been alive.
  REQUIRE(t.waitFor(t.outcome));
  test::runReady(t.loop);
  CHECK(t.outcome.result.ok());
  CHECK_FALSE(destroyed.called);
  CHECK_FALSE(cancelled.called);
  CHECK_FALSE(replaced.called);
}

TEST_CASE("connector: the callback may start the next connect on the same connector") {
  ConnectTest t;
  uint16_t closed_port = 0;
  test::Fd bound = test::refusingPort(closed_port);
  Outcome first;
  t.connector.connect(test::loopbackAddress(closed_port), 5s, [&](net::ConnectResult result) {
    first.called = true;
    first.result = std::move(result);
    t.connector.connect(t.listening(), 5s, recordInto(t.outcome));
  });
  REQUIRE(t.waitFor(t.outcome));
  CHECK(first.result.failure == ConnectFailure::Refused);
  CHECK(t.outcome.result.ok());
}

TEST_CASE("connector: every failure has a stable word for logs and labels") {
  CHECK(std::string(net::connectFailureName(ConnectFailure::None)) == "none");
  CHECK(std::string(net::connectFailureName(ConnectFailure::Refused)) == "refused");
  CHECK(std::string(net::connectFailureName(ConnectFailure::Timeout)) == "timeout");
  CHECK(std::string(net::connectFailureName(ConnectFailure::Unreachable)) == "unreachable");
  CHECK(std::string(net::connectFailureName(ConnectFailure::LocalResource)) == "local");
  CHECK(std::string(net::connectFailureName(ConnectFailure::Handshake)) == "handshake");
  CHECK(std::string(net::connectFailureName(ConnectFailure::Failed)) == "failed");
}
