#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "upstream/breaker_slots.h"
#include "upstream/circuit_breaker.h"

using fulcrum::upstream::BreakerLimits;
using fulcrum::upstream::BreakerResource;
using fulcrum::upstream::BreakerSlots;
using fulcrum::upstream::CircuitBreaker;

namespace {

BreakerLimits limits(uint64_t connections, uint64_t pending, uint64_t requests) {
  BreakerLimits result;
  result.max_connections = connections;
  result.max_pending = pending;
  result.max_requests = requests;
  return result;
}

}  // namespace

TEST_CASE("upstream: circuit breaker grants units up to the limit, then rejects and counts") {
  CircuitBreaker breaker(limits(2, 5, 3));
  CHECK(breaker.limit(BreakerResource::Connections) == 2);
  CHECK(breaker.limit(BreakerResource::Pending) == 5);
  CHECK(breaker.limit(BreakerResource::Requests) == 3);

  CHECK(breaker.tryAcquire(BreakerResource::Connections));
  CHECK(breaker.inUse(BreakerResource::Connections) == 1);
  CHECK(breaker.tryAcquire(BreakerResource::Connections));
  CHECK(breaker.inUse(BreakerResource::Connections) == 2);
  CHECK(breaker.rejected(BreakerResource::Connections) == 0);
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Connections));
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Connections));
  CHECK(breaker.inUse(BreakerResource::Connections) == 2);
  CHECK(breaker.rejected(BreakerResource::Connections) == 2);

  // The other resources are counted on their own.
  CHECK(breaker.inUse(BreakerResource::Requests) == 0);
  CHECK(breaker.rejected(BreakerResource::Requests) == 0);
  for (int i = 0; i < 3; ++i) CHECK(breaker.tryAcquire(BreakerResource::Requests));
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Requests));
  CHECK(breaker.rejected(BreakerResource::Requests) == 1);
  CHECK(breaker.inUse(BreakerResource::Pending) == 0);
  CHECK(breaker.rejected(BreakerResource::Pending) == 0);
}

TEST_CASE("upstream: circuit breaker release makes room for one more") {
  CircuitBreaker breaker(limits(1, 1, 1));
  REQUIRE(breaker.tryAcquire(BreakerResource::Pending));
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Pending));
  breaker.release(BreakerResource::Pending);
  CHECK(breaker.inUse(BreakerResource::Pending) == 0);
  CHECK(breaker.tryAcquire(BreakerResource::Pending));
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Pending));
  CHECK(breaker.rejected(BreakerResource::Pending) == 2);
}

TEST_CASE("upstream: circuit breaker with a limit of 0 grants nothing") {
  CircuitBreaker breaker(limits(0, 1, 1));
  CHECK_FALSE(breaker.tryAcquire(BreakerResource::Connections));
  CHECK(breaker.inUse(BreakerResource::Connections) == 0);
  CHECK(breaker.rejected(BreakerResource::Connections) == 1);
}

TEST_CASE("upstream: circuit breaker never grants more than the limit across threads") {
  constexpr uint64_t kLimit = 3;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  CircuitBreaker breaker(limits(kLimit, 1, 1));
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::atomic<int> granted{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Start together so the threads really race for the last units.
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kRounds; ++i) {
        if (!breaker.tryAcquire(BreakerResource::Connections)) continue;
        granted.fetch_add(1);
        const int now = holding.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();  // hold it a while, let others try
        holding.fetch_sub(1);
        breaker.release(BreakerResource::Connections);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(most.load() >= 1);
  CHECK(most.load() <= static_cast<int>(kLimit));
  CHECK(breaker.inUse(BreakerResource::Connections) == 0);
  CHECK(static_cast<uint64_t>(granted.load()) + breaker.rejected(BreakerResource::Connections) ==
        static_cast<uint64_t>(kThreads) * kRounds);
}

TEST_CASE(
    "upstream: circuit breaker wakers are called on a connection release only while requests are "
    "queued") {
  CircuitBreaker breaker(limits(4, 4, 4));
  int calls = 0;
  auto handle = breaker.addWaker([&] { ++calls; });

  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(calls == 0);  // nothing queued

  breaker.queued(1);
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(calls == 1);

  // Only a connection release wakes.
  REQUIRE(breaker.tryAcquire(BreakerResource::Requests));
  breaker.release(BreakerResource::Requests);
  REQUIRE(breaker.tryAcquire(BreakerResource::Pending));
  breaker.release(BreakerResource::Pending);
  CHECK(calls == 1);

  breaker.queued(1);
  breaker.queued(-2);
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(calls == 1);
}

TEST_CASE("upstream: circuit breaker calls every waker, and no longer one whose handle is gone") {
  CircuitBreaker breaker(limits(4, 4, 4));
  int first = 0, second = 0;
  auto first_handle = breaker.addWaker([&] { ++first; });
  auto second_handle = breaker.addWaker([&] { ++second; });
  breaker.queued(1);
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(first == 1);
  CHECK(second == 1);

  first_handle.reset();
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(first == 1);
  CHECK(second == 2);

  second_handle.reset();
  REQUIRE(breaker.tryAcquire(BreakerResource::Connections));
  breaker.release(BreakerResource::Connections);
  CHECK(second == 2);
}

TEST_CASE("upstream: breaker slots with a null breaker always succeed") {
  BreakerSlots slots(nullptr);
  CHECK(slots.breaker() == nullptr);
  CHECK(slots.acquire(BreakerResource::Connections));
  CHECK(slots.acquire(BreakerResource::Pending));
  CHECK(slots.acquire(BreakerResource::Requests));
  slots.release(BreakerResource::Requests);
  slots.handOverConnection();
  slots.adoptConnection();
  CHECK(slots.acquire(BreakerResource::Connections));
}

TEST_CASE("upstream: breaker slots acquire is idempotent and release gives back exactly once") {
  CircuitBreaker breaker(limits(2, 2, 2));
  BreakerSlots slots(&breaker);
  CHECK_FALSE(slots.held(BreakerResource::Requests));
  CHECK(slots.acquire(BreakerResource::Requests));
  CHECK(slots.held(BreakerResource::Requests));
  CHECK(slots.acquire(BreakerResource::Requests));
  CHECK(breaker.inUse(BreakerResource::Requests) == 1);
  slots.release(BreakerResource::Requests);
  CHECK_FALSE(slots.held(BreakerResource::Requests));
  CHECK(breaker.inUse(BreakerResource::Requests) == 0);
  slots.release(BreakerResource::Requests);
  CHECK(breaker.inUse(BreakerResource::Requests) == 0);
}

TEST_CASE("upstream: breaker slots report a refused unit as not held") {
  CircuitBreaker breaker(limits(1, 1, 1));
  REQUIRE(breaker.tryAcquire(BreakerResource::Pending));
  BreakerSlots slots(&breaker);
  CHECK_FALSE(slots.acquire(BreakerResource::Pending));
  CHECK_FALSE(slots.held(BreakerResource::Pending));
  CHECK(breaker.rejected(BreakerResource::Pending) == 1);
  slots.release(BreakerResource::Pending);  // not held: gives nothing back
  CHECK(breaker.inUse(BreakerResource::Pending) == 1);
}

TEST_CASE("upstream: breaker slots destructor releases whatever is still held") {
  CircuitBreaker breaker(limits(2, 2, 2));
  {
    BreakerSlots slots(&breaker);
    REQUIRE(slots.acquire(BreakerResource::Connections));
    REQUIRE(slots.acquire(BreakerResource::Pending));
    REQUIRE(slots.acquire(BreakerResource::Requests));
    slots.release(BreakerResource::Pending);
    CHECK(breaker.inUse(BreakerResource::Connections) == 1);
    CHECK(breaker.inUse(BreakerResource::Pending) == 0);
    CHECK(breaker.inUse(BreakerResource::Requests) == 1);
  }
  CHECK(breaker.inUse(BreakerResource::Connections) == 0);
  CHECK(breaker.inUse(BreakerResource::Pending) == 0);
  CHECK(breaker.inUse(BreakerResource::Requests) == 0);
}

TEST_CASE("upstream: breaker slots move the connection unit with the connection") {
  CircuitBreaker breaker(limits(2, 2, 2));
  auto first = std::make_unique<BreakerSlots>(&breaker);
  REQUIRE(first->acquire(BreakerResource::Connections));
  first->handOverConnection();
  CHECK_FALSE(first->held(BreakerResource::Connections));
  first.reset();
  // Handed over (to the pool): still counted.
  CHECK(breaker.inUse(BreakerResource::Connections) == 1);

  auto second = std::make_unique<BreakerSlots>(&breaker);
  second->adoptConnection();
  CHECK(second->held(BreakerResource::Connections));
  CHECK(breaker.inUse(BreakerResource::Connections) == 1);  // adopting takes no new unit
  second.reset();
  CHECK(breaker.inUse(BreakerResource::Connections) == 0);
}
