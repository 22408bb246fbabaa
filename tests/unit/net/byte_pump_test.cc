#include <doctest/doctest.h>
#include <sys/socket.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>

#include "core/errno_text.h"
#include "net/byte_pump.h"
#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using net::BytePump;
using test::runUntil;

namespace {

constexpr size_t kMaxBuffered = 64 * 1024;

// One end the test plays: sends `outgoing` as fast as its socket takes it
// and keeps what arrives.
struct Peer {
  // One non-blocking turn: write what the socket takes, read what is there.
  void exchange() {
    sent += test::writeAvailable(fd.get(), outgoing, sent);
    eof = test::readAvailable(fd.get(), received) || eof;
  }
  bool sentAll() const { return sent == outgoing.size(); }

  test::Fd fd;
  std::string outgoing;
  size_t sent = 0;
  std::string received;
  bool eof = false;
};

// A pump between a client (side 0) and a server (side 1), each reached over
// a socket pair whose other end the test plays. Members die in reverse: the
// pump (which defers its streams' deletion) before the loop.
struct PumpTest {
  explicit PumpTest(std::chrono::milliseconds idle_timeout = 1min) {
    test::ignoreSigpipe();
    auto side0 = test::pairedStream(loop, client.fd);
    auto side1 = test::pairedStream(loop, server.fd);
    // Small socket buffers towards the server: what it does not read stays
    // in the pump's buffer, where the backpressure shows.
    test::smallBuffers(side1->fd());
    test::smallBuffers(server.fd.get());
    pump = std::make_unique<BytePump>(loop, std::move(side0), std::move(side1), kMaxBuffered,
                                      idle_timeout, [this](const BytePump::Result& r) {
                                        ++ends;
                                        result = r;
                                      });
    pump->start();
  }
  // Runs the loop, both peers exchanging, until `done()`.
  bool exchangeUntil(const std::function<bool()>& done) {
    return runUntil(loop, [&] {
      client.exchange();
      server.exchange();
      return done();
    });
  }
  // Closes `side`'s peer end.
  void hangUp(int side) { (side == 0 ? client : server).fd = test::Fd(); }

  net::EventLoop loop;
  Peer client;
  Peer server;
  int ends = 0;
  BytePump::Result result;
  std::unique_ptr<BytePump> pump;
};

}  // namespace

TEST_CASE("byte pump: bytes flow both ways and are counted by the side they came from") {
  PumpTest t;
  t.client.outgoing = test::patternBytes(300 * 1024, 1);
  t.server.outgoing = test::patternBytes(200 * 1024, 2);
  REQUIRE(t.exchangeUntil([&] {
    return t.server.received.size() == t.client.outgoing.size() &&
           t.client.received.size() == t.server.outgoing.size();
  }));
  CHECK(t.server.received == t.client.outgoing);
  CHECK(t.client.received == t.server.outgoing);
  CHECK(t.pump->bytesFrom(0) == t.client.outgoing.size());
  CHECK(t.pump->bytesFrom(1) == t.server.outgoing.size());
  CHECK(t.ends == 0);
}

TEST_CASE(
    "byte pump: each FIN is passed on after the bytes before it, and the second completes it") {
  PumpTest t;
  t.client.outgoing = "GET / HTTP/1.0\r\n\r\n";
  REQUIRE(t.exchangeUntil([&] { return t.client.sentAll(); }));
  REQUIRE(shutdown(t.client.fd.get(), SHUT_WR) == 0);
  REQUIRE(t.exchangeUntil([&] { return t.server.eof; }));
  CHECK(t.server.received == t.client.outgoing);
  CHECK(t.ends == 0);  // half-closed: the answer may still come

  t.server.outgoing = test::patternBytes(200 * 1024, 3);
  REQUIRE(t.exchangeUntil([&] { return t.server.sentAll(); }));
  REQUIRE(shutdown(t.server.fd.get(), SHUT_WR) == 0);
  REQUIRE(t.exchangeUntil([&] { return t.client.eof && t.ends > 0; }));
  CHECK(t.client.received == t.server.outgoing);
  CHECK(t.ends == 1);
  CHECK(t.result.end == BytePump::End::Completed);
  CHECK(t.result.side == -1);
}

TEST_CASE("byte pump: neither side moving a byte for the idle timeout ends it") {
  PumpTest t(50ms);
  REQUIRE(runUntil(t.loop, [&] { return t.ends > 0; }));
  CHECK(t.ends == 1);
  CHECK(t.result.end == BytePump::End::IdleTimeout);

  // Ended: bytes that come now are not passed on.
  REQUIRE(test::writeAll(t.client.fd.get(), "late"));
  test::runReady(t.loop);
  t.server.exchange();
  CHECK(t.server.received.empty());
  CHECK(t.pump->bytesFrom(0) == 0);
}

TEST_CASE("byte pump: a write error on one side ends it with Error, naming that side") {
  for (int side : {0, 1}) {
    CAPTURE(side);
    PumpTest t;
    Peer& other = side == 0 ? t.server : t.client;
    t.hangUp(side);
    // The hang-up reads as EOF first: passed on as a half-close.
    REQUIRE(t.exchangeUntil([&] { return other.eof; }));
    CHECK(t.ends == 0);

    // What the other side still sends cannot be written to the one that left.
    REQUIRE(test::writeAll(other.fd.get(), "more"));
    REQUIRE(runUntil(t.loop, [&] { return t.ends > 0; }));
    CHECK(t.result.end == BytePump::End::Error);
    CHECK(t.result.side == side);
    CHECK((t.result.detail == errnoText(EPIPE) || t.result.detail == errnoText(ECONNRESET)));
  }
}

TEST_CASE(
    "byte pump: a side that does not read stops the pump reading the other, until it drains") {
  PumpTest t;
  t.client.outgoing = test::patternBytes(8 << 20, 4);
  // The server reads nothing: alternate the client's writes and ready turns
  // of the loop until a turn moves no byte.
  for (int turn = 0; turn < 100000; ++turn) {
    const size_t sent = t.client.sent;
    const uint64_t moved = t.pump->bytesFrom(0);
    t.client.exchange();
    test::runReady(t.loop);
    if (t.client.sent == sent && t.pump->bytesFrom(0) == moved) break;
  }
  CHECK_FALSE(t.client.sentAll());
  // The cap, one read's worth past it and the small socket buffer: far
  // from the 8 MiB the client wanted to send.
  CHECK(t.pump->bytesFrom(0) >= kMaxBuffered);
  CHECK(t.pump->bytesFrom(0) < 3 * kMaxBuffered);

  // The server reads: the pump reads the client again, and every byte gets through.
  REQUIRE(t.exchangeUntil([&] { return t.server.received.size() == t.client.outgoing.size(); }));
  CHECK(t.server.received == t.client.outgoing);
  CHECK(t.ends == 0);
}
