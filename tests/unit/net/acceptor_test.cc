#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "core/socket_address.h"
#include "net/acceptor.h"
#include "net/event_loop.h"
#include "net/listen_socket.h"
#include "net/stream.h"
#include "net/timer.h"
#include "support/net.h"
#include "support/wait.h"

using fulcrum::SocketAddress;
using fulcrum::net::Acceptor;
using fulcrum::net::EventLoop;
using fulcrum::net::Stream;
using fulcrum::net::Timer;

namespace {

// One worker's listening socket on 127.0.0.1, port chosen by the kernel.
int listenOnLoopback(uint16_t& port, unsigned backlog = 16) {
  SocketAddress address;
  std::string why;
  REQUIRE(fulcrum::parseSocketAddress("127.0.0.1:0", address, why));
  std::vector<fulcrum::net::ListenSocket> sockets;
  SocketAddress bound;
  REQUIRE_MESSAGE(fulcrum::net::bindListenSockets(address, 1, backlog, sockets, bound, why), why);
  port = bound.port();
  return sockets[0].release();
}

uint16_t localPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0);
  return SocketAddress(reinterpret_cast<sockaddr*>(&storage), length).port();
}

// What an Acceptor handed over; stops the loop once `want` have come.
struct Accepted {
  explicit Accepted(EventLoop& loop, size_t want = 1) : loop(loop), want(want) {}

  EventLoop& loop;
  size_t want;
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<SocketAddress> peers;
  int errors = 0;

  Acceptor::Accepted onAccepted() {
    return [this](std::unique_ptr<Stream> stream, const SocketAddress& peer) {
      streams.push_back(std::move(stream));
      peers.push_back(peer);
      if (streams.size() == want) loop.stop();
    };
  }
  Acceptor::Failed onFailed() {
    return [this](int) { ++errors; };
  }
};

}  // namespace

TEST_CASE("net: an acceptor hands each connection over as a stream, with the client's address") {
  EventLoop loop;
  uint16_t port = 0;
  Accepted accepted(loop);
  Acceptor acceptor(loop, listenOnLoopback(port), accepted.onAccepted(), accepted.onFailed());
  fulcrum::test::Fd client = fulcrum::test::connectLoopback(port);
  REQUIRE(client);
  Timer deadline(loop, [&loop] { loop.stop(); });
  deadline.arm(fulcrum::test::kDeadline);
  loop.run();

  REQUIRE(accepted.streams.size() == 1);
  CHECK(accepted.errors == 0);
  CHECK(accepted.peers[0].isLoopback());
  CHECK(accepted.peers[0].port() == localPort(client.get()));
  int nodelay = 0;
  socklen_t length = sizeof(nodelay);
  REQUIRE(getsockopt(accepted.streams[0]->fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &length) == 0);
  CHECK(nodelay != 0);
}

TEST_CASE("net: a paused acceptor leaves connections in the backlog until it resumes") {
  EventLoop loop;
  uint16_t port = 0;
  Accepted accepted(loop, 2);
  Acceptor acceptor(loop, listenOnLoopback(port), accepted.onAccepted(), accepted.onFailed());
  acceptor.pause();
  fulcrum::test::Fd first = fulcrum::test::connectLoopback(port);
  fulcrum::test::Fd second = fulcrum::test::connectLoopback(port);
  REQUIRE(first);
  REQUIRE(second);
  // Queued by the kernel as the handshakes complete.
  CHECK(
      fulcrum::test::waitUntil([&] { return acceptor.backlog() == 2; }, fulcrum::test::kDeadline));

  // The loop sees the waiting connections (libevent runs the socket's
  // events of an iteration before its timers) but takes none until resume().
  size_t before_resume = 99;
  Timer resume(loop, [&] {
    before_resume = accepted.streams.size();
    acceptor.resume();
  });
  resume.arm(std::chrono::milliseconds(0));
  Timer deadline(loop, [&loop] { loop.stop(); });
  deadline.arm(fulcrum::test::kDeadline);
  loop.run();

  CHECK(before_resume == 0);
  CHECK(accepted.streams.size() == 2);
  CHECK(acceptor.backlog() == 0);
}

TEST_CASE("net: destroying an acceptor closes its listening socket") {
  EventLoop loop;
  uint16_t port = 0;
  Accepted accepted(loop);
  auto acceptor = std::make_unique<Acceptor>(loop, listenOnLoopback(port), accepted.onAccepted(),
                                             accepted.onFailed());
  acceptor.reset();
  CHECK_FALSE(fulcrum::test::connectLoopback(port, std::chrono::milliseconds(1000)));
}

TEST_CASE("net: an acceptor keeps the listen backlog the socket was opened with") {
  EventLoop loop;
  uint16_t port = 0;
  Accepted accepted(loop);
  const int fd = listenOnLoopback(port, 7);  // the acceptor owns it from here
  Acceptor acceptor(loop, fd, accepted.onAccepted(), accepted.onFailed());
  // Linux reports a listening socket's maximum backlog in tcpi_sacked.
  tcp_info info{};
  socklen_t length = sizeof(info);
  REQUIRE(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0);
  CHECK(info.tcpi_sacked == 7);
}
