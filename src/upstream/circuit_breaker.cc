#include "upstream/circuit_breaker.h"

namespace fulcrum::upstream {

CircuitBreaker::CircuitBreaker(const BreakerLimits& limits) : limits_(limits) {}

uint64_t CircuitBreaker::limit(BreakerResource resource) const {
  switch (resource) {
    case BreakerResource::Connections:
      return limits_.max_connections;
    case BreakerResource::Pending:
      return limits_.max_pending;
    case BreakerResource::Requests:
      return limits_.max_requests;
  }
  return 0;
}

bool CircuitBreaker::tryAcquire(BreakerResource resource) {
  Counter& counter = counters_[static_cast<int>(resource)];
  // Add first, then look: two workers racing for the last unit cannot both
  // get it.
  if (counter.in_use.fetch_add(1, std::memory_order_relaxed) < limit(resource)) return true;
  counter.in_use.fetch_sub(1, std::memory_order_relaxed);
  counter.rejected.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void CircuitBreaker::release(BreakerResource resource) {
  counters_[static_cast<int>(resource)].in_use.fetch_sub(1, std::memory_order_relaxed);
  if (resource != BreakerResource::Connections || queued_.load(std::memory_order_relaxed) <= 0)
    return;
  std::lock_guard lock(wakers_mutex_);
  for (const Waker& waker : wakers_) waker();
}

uint64_t CircuitBreaker::inUse(BreakerResource resource) const {
  return counters_[static_cast<int>(resource)].in_use.load(std::memory_order_relaxed);
}

uint64_t CircuitBreaker::rejected(BreakerResource resource) const {
  return counters_[static_cast<int>(resource)].rejected.load(std::memory_order_relaxed);
}

std::unique_ptr<CircuitBreaker::WakerHandle> CircuitBreaker::addWaker(Waker waker) {
  std::lock_guard lock(wakers_mutex_);
  wakers_.push_back(std::move(waker));
  return std::make_unique<WakerHandle>(*this, std::prev(wakers_.end()));
}

CircuitBreaker::WakerHandle::~WakerHandle() {
  std::lock_guard lock(breaker_->wakers_mutex_);
  breaker_->wakers_.erase(it_);
}

}  // namespace fulcrum::upstream
