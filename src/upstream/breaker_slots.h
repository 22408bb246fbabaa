// The circuit-breaker units one request (or TCP session) holds, given back
// exactly once: by release(), or by the destructor for whatever is still
// held. A null breaker (no circuit_breaker configured) makes every call a
// no-op that succeeds. One owner, one thread.
#pragma once

#include "upstream/circuit_breaker.h"

namespace fulcrum::upstream {

class BreakerSlots {
 public:
  explicit BreakerSlots(CircuitBreaker* breaker) : breaker_(breaker) {}
  ~BreakerSlots() {
    release(BreakerResource::Requests);
    release(BreakerResource::Pending);
    release(BreakerResource::Connections);
  }
  BreakerSlots(const BreakerSlots&) = delete;
  BreakerSlots& operator=(const BreakerSlots&) = delete;

  // True when the unit is held (already, or now).
  bool acquire(BreakerResource resource) {
    if (breaker_ == nullptr || held(resource)) return true;
    if (!breaker_->tryAcquire(resource)) return false;
    held_ |= bit(resource);
    return true;
  }
  void release(BreakerResource resource) {
    if (breaker_ == nullptr || !held(resource)) return;
    held_ &= ~bit(resource);
    breaker_->release(resource);
  }
  // The connection's unit moves with the connection (to or from the pool,
  // which gives it back when it closes the connection).
  void handOverConnection() { held_ &= ~bit(BreakerResource::Connections); }
  void adoptConnection() {
    if (breaker_ != nullptr) held_ |= bit(BreakerResource::Connections);
  }
  bool held(BreakerResource resource) const { return (held_ & bit(resource)) != 0; }
  CircuitBreaker* breaker() const { return breaker_; }

 private:
  static unsigned bit(BreakerResource resource) { return 1u << static_cast<unsigned>(resource); }

  CircuitBreaker* breaker_;
  unsigned held_ = 0;
};

}  // namespace fulcrum::upstream
