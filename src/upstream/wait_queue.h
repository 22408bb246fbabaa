// The requests of one upstream, on one worker, that wait for an upstream
// connection because the circuit breaker's max_connections is reached. A
// waiter is woken (its own zero-delay timer, so never inside the caller's
// stack) when a connection is freed: on this worker, or on another one
// through the breaker's waker, which posts here. Worker thread only, except
// the waker, which only posts. Waiters remove themselves before they die.
#pragma once

#include <functional>
#include <list>
#include <memory>

#include "net/event_loop.h"
#include "upstream/circuit_breaker.h"

namespace fulcrum::upstream {

class ConnectionWaitQueue : public std::enable_shared_from_this<ConnectionWaitQueue> {
 public:
  using Wake = std::function<void()>;
  using Handle = std::list<Wake>::iterator;

  // Registers with the breaker (when there is one); call once, after
  // construction into a shared_ptr.
  void attach(net::EventLoop& loop, CircuitBreaker* breaker) {
    breaker_ = breaker;
    if (breaker == nullptr) return;
    std::weak_ptr<ConnectionWaitQueue> self = weak_from_this();
    waker_ = breaker->addWaker([&loop, self] {
      loop.post([self] {
        if (auto queue = self.lock()) queue->wakeAll();
      });
    });
  }

  Handle add(Wake wake) {
    if (breaker_ != nullptr) breaker_->queued(1);
    waiters_.push_back(std::move(wake));
    return std::prev(waiters_.end());
  }
  void remove(Handle handle) {
    if (breaker_ != nullptr) breaker_->queued(-1);
    waiters_.erase(handle);
  }
  // Every waiter tries again; those that still find no room wait on.
  void wakeAll() {
    for (auto& wake : waiters_) wake();
  }
  bool empty() const { return waiters_.empty(); }

 private:
  CircuitBreaker* breaker_ = nullptr;
  std::unique_ptr<CircuitBreaker::WakerHandle> waker_;
  std::list<Wake> waiters_;
};

}  // namespace fulcrum::upstream
