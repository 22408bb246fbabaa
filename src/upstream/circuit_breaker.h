// One upstream's circuit breaker: limits on upstream connections, requests
// waiting for a connection, and requests in flight, counted across every
// worker. Past a limit a new request is refused at once (503, or a closed
// TCP connection) instead of queueing without bound behind a struggling
// server.
//
// Thread-safe: the counts are atomics (one relaxed add and one subtract per
// use; taken only when the upstream has a circuit_breaker). Wakers are how a
// worker whose requests wait for a connection hears that one was freed on
// another worker: they are called (on the releasing thread) only while
// requests wait, and must only post to their own loop. A Waker is removed by
// destroying the handle addWaker() returned.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

namespace fulcrum::upstream {

struct BreakerLimits {
  uint64_t max_connections = 1024;
  uint64_t max_pending = 1024;
  uint64_t max_requests = 1024;
  std::chrono::milliseconds pending_timeout{1000};
};

enum class BreakerResource : uint8_t { Connections = 0, Pending = 1, Requests = 2 };

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const BreakerLimits& limits);

  // Takes one unit, or counts a rejection and returns false at the limit.
  bool tryAcquire(BreakerResource resource);
  void release(BreakerResource resource);

  uint64_t inUse(BreakerResource resource) const;
  uint64_t rejected(BreakerResource resource) const;
  uint64_t limit(BreakerResource resource) const;
  std::chrono::milliseconds pendingTimeout() const { return limits_.pending_timeout; }

  // Requests queued for a connection, on any worker.
  void queued(int delta) { queued_.fetch_add(delta, std::memory_order_relaxed); }

  using Waker = std::function<void()>;
  class WakerHandle {
   public:
    WakerHandle(CircuitBreaker& breaker, std::list<Waker>::iterator it)
        : breaker_(&breaker), it_(it) {}
    ~WakerHandle();
    WakerHandle(const WakerHandle&) = delete;
    WakerHandle& operator=(const WakerHandle&) = delete;

   private:
    CircuitBreaker* breaker_;
    std::list<Waker>::iterator it_;
  };
  std::unique_ptr<WakerHandle> addWaker(Waker waker);

 private:
  struct Counter {
    std::atomic<uint64_t> in_use{0};
    std::atomic<uint64_t> rejected{0};
  };

  BreakerLimits limits_;
  Counter counters_[3];
  std::atomic<int64_t> queued_{0};
  std::mutex wakers_mutex_;
  std::list<Waker> wakers_;
};

}  // namespace fulcrum::upstream
