#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/loop.h"
#include "upstream/circuit_breaker.h"
#include "upstream/conn_pool.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using namespace std::chrono_literals;
using test::runUntil;

namespace {

// A pool for two servers on its own loop, counting against a breaker, and
// connections to give it: streams over socket pairs whose other ends the
// test keeps as the servers' ends. Members die in reverse: the pool before
// the breaker it gives units back to, and the loop last.
struct PoolTest {
  explicit PoolTest(unsigned max_idle = 4, std::chrono::milliseconds idle_timeout = 1min)
      : pool(loop, 2, max_idle, idle_timeout, &breaker) {}

  // A connection as a request leaves it: holding a breaker unit. Its
  // server's end is servers[n] for the n-th connection made.
  std::unique_ptr<net::Stream> connection() {
    REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
    servers.emplace_back();
    return test::pairedStream(loop, servers.back());
  }
  // Gives a new connection to server `index`; returns it, to compare with take().
  net::Stream* giveNew(uint32_t index, std::string_view key = {}) {
    return giveNew(pool, index, key);
  }
  net::Stream* giveNew(ConnPool& to, uint32_t index, std::string_view key = {}) {
    auto stream = connection();
    net::Stream* raw = stream.get();
    to.give(index, std::move(stream), key);
    return raw;
  }
  uint64_t unitsHeld() const { return breaker.inUse(BreakerResource::Connections); }
  // The pool closed the n-th connection: its server's end reads EOF.
  bool closed(size_t n) {
    std::string ignored;
    return test::readAvailable(servers[n].get(), ignored);
  }
  bool waitClosed(size_t n) {
    return runUntil(loop, [&] { return closed(n); });
  }

  net::EventLoop loop;
  CircuitBreaker breaker{BreakerLimits{}};
  std::vector<test::Fd> servers;
  ConnPool pool;
};

}  // namespace

TEST_CASE("conn pool: a connection given back is taken again for its server, not for another") {
  PoolTest t;
  CHECK(t.pool.take(0) == nullptr);
  net::Stream* given = t.giveNew(0);
  CHECK(t.pool.idleCount(0) == 1);
  CHECK(t.pool.take(1) == nullptr);

  auto taken = t.pool.take(0);
  CHECK(taken.get() == given);
  CHECK(t.pool.idleCount(0) == 0);
  CHECK(t.pool.take(0) == nullptr);
  CHECK(t.unitsHeld() == 1);  // the caller's connection still holds its unit
}

TEST_CASE("conn pool: take gives the most recently given back connection first") {
  PoolTest t;
  net::Stream* older = t.giveNew(0);
  net::Stream* newer = t.giveNew(0);
  CHECK(t.pool.take(0).get() == newer);
  CHECK(t.pool.take(0).get() == older);
}

TEST_CASE("conn pool: past max_idle for a server, a connection given back is closed at once") {
  PoolTest t(2);
  net::Stream* first = t.giveNew(0);
  net::Stream* second = t.giveNew(0);
  t.giveNew(0);
  CHECK(t.pool.idleCount(0) == 2);
  CHECK(t.unitsHeld() == 2);  // the closed one gave its unit back
  REQUIRE(t.waitClosed(2));
  CHECK_FALSE(t.closed(0));
  CHECK_FALSE(t.closed(1));

  // The limit is per server: another server still has room.
  t.giveNew(1);
  CHECK(t.pool.idleCount(1) == 1);
  CHECK(t.pool.take(0).get() == second);
  CHECK(t.pool.take(0).get() == first);
}

TEST_CASE("conn pool: a pooled connection its server closes is dropped") {
  PoolTest t;
  t.giveNew(0);
  t.servers[0] = test::Fd();
  REQUIRE(runUntil(t.loop, [&] { return t.pool.idleCount(0) == 0; }));
  CHECK(t.pool.take(0) == nullptr);
  CHECK(t.unitsHeld() == 0);
}

TEST_CASE("conn pool: a pooled connection that receives bytes unasked is dropped and closed") {
  PoolTest t;
  t.giveNew(0);
  REQUIRE(test::writeAll(t.servers[0].get(), "HTTP/1.1 408 Request Timeout\r\n\r\n"));
  REQUIRE(runUntil(t.loop, [&] { return t.pool.idleCount(0) == 0; }));
  CHECK(t.pool.take(0) == nullptr);
  CHECK(t.unitsHeld() == 0);
  CHECK(t.waitClosed(0));
}

TEST_CASE("conn pool: connections idle past the timeout are closed") {
  PoolTest t(4, 50ms);
  t.giveNew(0);
  t.giveNew(1);
  REQUIRE(runUntil(t.loop, [&] { return t.pool.idleCount(0) + t.pool.idleCount(1) == 0; }));
  CHECK(t.unitsHeld() == 0);
  CHECK(t.waitClosed(0));
  CHECK(t.waitClosed(1));
}

TEST_CASE("conn pool: take with a max age takes only a connection given back within it") {
  PoolTest t;
  net::Stream* given = t.giveNew(0);
  // Given back at least 0ms ago: too old for a window of 0.
  CHECK(t.pool.take(0, 0ms) == nullptr);
  CHECK(t.pool.idleCount(0) == 1);  // it stays for other requests
  CHECK(t.pool.take(1, 1h) == nullptr);
  CHECK(t.pool.take(0, 1h).get() == given);
  CHECK(t.pool.take(0, 1h) == nullptr);
}

TEST_CASE(
    "conn pool: a taken connection is the caller's: still reading, its events to the caller") {
  PoolTest t;
  test::StreamRecorder recorder;
  t.giveNew(0);
  auto taken = t.pool.take(0);
  CHECK(taken->reading());
  taken->setHandler(&recorder);
  REQUIRE(test::writeAll(t.servers[0].get(), "late"));
  REQUIRE(runUntil(t.loop, [&] { return recorder.read == "late"; }));
  CHECK(t.unitsHeld() == 1);  // the pool did not count it closed
  CHECK_FALSE(t.closed(0));
}

TEST_CASE(
    "conn pool: adopt moves idle connections to the new pool's server, the newest within its "
    "max_idle") {
  PoolTest t;
  std::vector<net::Stream*> given;
  for (int i = 0; i < 3; ++i) given.push_back(t.giveNew(1));
  ConnPool fresh(t.loop, 1, 2, 1min, &t.breaker);
  fresh.adopt(t.pool, 1, 0);
  CHECK(t.pool.idleCount(1) == 0);
  CHECK(fresh.idleCount(0) == 2);
  CHECK(t.unitsHeld() == 2);  // the one past max_idle was closed: the oldest
  REQUIRE(runUntil(t.loop, [&] { return t.closed(0); }));
  CHECK_FALSE(t.closed(1));
  CHECK_FALSE(t.closed(2));

  // Most recent first, as they were in the old pool.
  auto newer = fresh.take(0);
  auto older = fresh.take(0);
  CHECK(newer.get() == given[2]);
  CHECK(older.get() == given[1]);
}

TEST_CASE("conn pool: adopted connections are the new pool's to watch and to give back") {
  PoolTest t;
  ConnPool fresh(t.loop, 1, 4, 1min, &t.breaker);
  {
    ConnPool old(t.loop, 2, 4, 1min, &t.breaker);
    t.giveNew(old, 1);
    t.giveNew(old, 1);
    fresh.adopt(old, 1, 0);
  }  // the old pool no longer holds them: going, it gives back no unit
  CHECK(t.unitsHeld() == 2);
  t.servers[0] = test::Fd();
  REQUIRE(runUntil(t.loop, [&] { return fresh.idleCount(0) == 1; }));
  CHECK(t.unitsHeld() == 1);
}

TEST_CASE(
    "conn pool: a pool that goes away closes its idle connections and gives their units back") {
  PoolTest t;
  {
    ConnPool doomed(t.loop, 1, 4, 1min, &t.breaker);
    t.giveNew(doomed, 0);
    t.giveNew(doomed, 0);
    CHECK(t.unitsHeld() == 2);
  }
  CHECK(t.unitsHeld() == 0);
  CHECK(t.waitClosed(0));
  CHECK(t.waitClosed(1));
}

TEST_CASE("conn pool: a keyed connection is taken only with its key, an unkeyed one only without") {
  PoolTest t;
  net::Stream* alice = t.giveNew(0, "PROXY alice");
  net::Stream* plain = t.giveNew(0);
  CHECK(t.pool.take(0, "PROXY bob") == nullptr);
  CHECK(t.pool.take(0, 1min, "PROXY bob") == nullptr);
  CHECK(t.pool.take(0, "PROXY alice").get() == alice);
  CHECK(t.pool.take(0, "PROXY alice") == nullptr);
  CHECK(t.pool.take(0).get() == plain);
}

TEST_CASE("conn pool: a keyed connection given to a full server replaces the oldest") {
  PoolTest t(/*max_idle=*/2);
  t.giveNew(0, "PROXY a");  // servers[0], the oldest
  t.giveNew(0, "PROXY b");
  net::Stream* newest = t.giveNew(0, "PROXY c");
  CHECK(t.pool.idleCount(0) == 2);
  CHECK(t.waitClosed(0));
  CHECK(t.unitsHeld() == 2);
  CHECK(t.pool.take(0, "PROXY a") == nullptr);
  CHECK(t.pool.take(0, "PROXY c").get() == newest);
}

TEST_CASE("conn pool: closeKeyed closes that key's connections on every server, and only those") {
  PoolTest t;
  t.giveNew(0, "PROXY gone");  // servers[0]
  t.giveNew(1, "PROXY gone");  // servers[1]
  net::Stream* stays = t.giveNew(1, "PROXY here");
  t.pool.closeKeyed("PROXY gone");
  CHECK(t.pool.idleCount(0) == 0);
  CHECK(t.pool.idleCount(1) == 1);
  CHECK(t.waitClosed(0));
  CHECK(t.waitClosed(1));
  CHECK_FALSE(t.closed(2));
  CHECK(t.unitsHeld() == 1);
  CHECK(t.pool.take(1, "PROXY here").get() == stays);
}
