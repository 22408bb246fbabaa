// A worker's parked connections: a byte on a parked socket resumes it (also
// more than one epoll batch of them in the same turn), client_idle closes
// it, and takeAll() from inside a resume ends the batch without touching
// the records it took.
#include "app/parked_connections.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <set>
#include <vector>

#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;

namespace {

struct Parked {
  std::vector<test::SocketPair> pairs;
  std::set<int> resumed;  // fds
  std::set<int> expired;  // fds, closed by then
  std::vector<std::unique_ptr<app::ParkedConnection>> taken;
  std::function<void()> on_resume;
  net::EventLoop loop;
  app::ParkedConnections parked{
      loop,
      [this](std::unique_ptr<app::ParkedConnection> connection) {
        resumed.insert(connection->fd);
        if (on_resume) on_resume();
      },
      [this](app::ParkedConnection& connection) { expired.insert(connection.fd); }};

  // Parks `count` connections; the socket each waits on is pairs[i].ours.
  void park(size_t count, std::chrono::milliseconds idle_timeout) {
    for (size_t i = 0; i < count; ++i) {
      pairs.push_back(test::socketPair());
      auto record = std::make_unique<app::ParkedConnection>();
      record->deadline = std::chrono::steady_clock::now() + idle_timeout;
      // Parked sockets belong to the set from here on (it closes them).
      record->fd = pairs.back().ours.release();
      parked.add(std::move(record), idle_timeout);
    }
  }
};

}  // namespace

TEST_CASE("parked connections: a byte on each of 150 parked sockets resumes every one") {
  Parked fixture;
  fixture.park(150, 60s);
  CHECK(fixture.parked.size() == 150);
  test::runReady(fixture.loop);
  CHECK(fixture.resumed.empty());  // nothing to read yet
  // More than one epoll_wait batch (64) wakes in the same turn.
  for (auto& pair : fixture.pairs) REQUIRE(::write(pair.peer.get(), "G", 1) == 1);
  REQUIRE(test::runUntil(fixture.loop, [&] { return fixture.resumed.size() == 150; }));
  CHECK(fixture.parked.size() == 0);
  CHECK(fixture.expired.empty());
  for (int fd : fixture.resumed) ::close(fd);  // resume hands the socket over
}

TEST_CASE("parked connections: client_idle closes a parked socket, the peer reads EOF") {
  Parked fixture;
  fixture.park(3, 20ms);
  REQUIRE(test::runUntil(fixture.loop, [&] { return fixture.expired.size() == 3; }));
  CHECK(fixture.resumed.empty());
  CHECK(fixture.parked.size() == 0);
  for (auto& pair : fixture.pairs) {
    std::string got;
    CHECK(test::readAvailable(pair.peer.get(), got));
  }
}

TEST_CASE("parked connections: takeAll from inside a resume ends the batch") {
  Parked fixture;
  fixture.park(10, 60s);
  fixture.on_resume = [&] {
    if (fixture.taken.empty()) fixture.taken = fixture.parked.takeAll();
  };
  for (auto& pair : fixture.pairs) REQUIRE(::write(pair.peer.get(), "G", 1) == 1);
  REQUIRE(test::runUntil(fixture.loop, [&] { return !fixture.resumed.empty(); }));
  test::runReady(fixture.loop);
  // One resumed, the other nine taken, none resumed after being taken.
  CHECK(fixture.resumed.size() == 1);
  CHECK(fixture.taken.size() == 9);
  for (auto& connection : fixture.taken) {
    CHECK(fixture.resumed.count(connection->fd) == 0);
    ::close(connection->fd);
  }
  for (int fd : fixture.resumed) ::close(fd);
  CHECK(fixture.parked.size() == 0);
}
