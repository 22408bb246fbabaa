#include <doctest/doctest.h>

#include <memory>

#include "net/event_loop.h"
#include "upstream/circuit_breaker.h"
#include "upstream/wait_queue.h"

using fulcrum::net::EventLoop;
using fulcrum::upstream::BreakerLimits;
using fulcrum::upstream::BreakerResource;
using fulcrum::upstream::CircuitBreaker;
using fulcrum::upstream::ConnectionWaitQueue;

namespace {

// Runs what is posted to `loop` so far (posted tasks run in order), then returns.
void drain(EventLoop& loop) {
  loop.post([&loop] { loop.stop(); });
  loop.run();
}

// Frees one connection unit on the breaker, as another worker would.
void freeConnection(CircuitBreaker& breaker) {
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
}

}  // namespace

TEST_CASE("upstream: wait queue wakes its waiters through the loop when a connection is freed") {
  EventLoop::enableThreads();
  EventLoop loop;
  CircuitBreaker breaker(BreakerLimits{});
  auto queue = std::make_shared<ConnectionWaitQueue>();
  queue->attach(loop, &breaker);
  int first = 0, second = 0;
  auto first_handle = queue->add([&] { ++first; });
  queue->add([&] { ++second; });
  CHECK_FALSE(queue->empty());

  freeConnection(breaker);
  // Posted, not called inside release().
  CHECK(first == 0);
  drain(loop);
  CHECK(first == 1);
  CHECK(second == 1);

  queue->remove(first_handle);
  freeConnection(breaker);
  drain(loop);
  CHECK(first == 1);
  CHECK(second == 2);
}

TEST_CASE("upstream: wait queue with no waiters is not woken") {
  EventLoop::enableThreads();
  EventLoop loop;
  CircuitBreaker breaker(BreakerLimits{});
  auto queue = std::make_shared<ConnectionWaitQueue>();
  queue->attach(loop, &breaker);
  int calls = 0;
  auto handle = queue->add([&] { ++calls; });
  queue->remove(handle);
  CHECK(queue->empty());
  // queued() went back to 0: the breaker calls no waker, so nothing is posted.
  int other = 0;
  auto probe = breaker.addWaker([&] { ++other; });
  freeConnection(breaker);
  CHECK(other == 0);
  drain(loop);
  CHECK(calls == 0);
}

TEST_CASE("upstream: wait queue destroyed before its posted wake-up is not touched") {
  EventLoop::enableThreads();
  EventLoop loop;
  CircuitBreaker breaker(BreakerLimits{});
  int calls = 0;
  auto queue = std::make_shared<ConnectionWaitQueue>();
  queue->attach(loop, &breaker);
  auto handle = queue->add([&] { ++calls; });
  freeConnection(breaker);  // posts a wake-up
  queue->remove(handle);
  queue.reset();
  drain(loop);
  CHECK(calls == 0);
  // Its waker is gone with it: releasing calls nothing (queued is back to 0 anyway).
  breaker.queued(1);
  freeConnection(breaker);
  drain(loop);
  CHECK(calls == 0);
}

TEST_CASE("upstream: wait queue without a breaker still queues and wakes locally") {
  auto queue = std::make_shared<ConnectionWaitQueue>();
  EventLoop::enableThreads();
  EventLoop loop;
  queue->attach(loop, nullptr);
  int calls = 0;
  auto handle = queue->add([&] { ++calls; });
  queue->wakeAll();
  CHECK(calls == 1);
  queue->remove(handle);
  queue->wakeAll();
  CHECK(calls == 1);
  CHECK(queue->empty());
}
