// One exchange's standing with its upstream's circuit breaker: the request
// unit it holds for its life, the pending unit while it waits for a server
// connection, and the connection unit while it holds one. When
// max_connections is reached it waits in the worker's queue: `retry` runs
// (from a zero-delay timer, never inside the caller's stack) when a
// connection may have been freed, `give_up` when pending_timeout passes.
// Without a circuit breaker every call admits at once and nothing waits.
// Owned by the Exchange, on its worker's loop; the callbacks may capture the
// Exchange, which owns this object and so outlives every callback.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "net/event_loop.h"
#include "net/timer.h"
#include "upstream/breaker_slots.h"
#include "upstream/upstream.h"
#include "upstream/wait_queue.h"

namespace fulcrum::http {

class Admission {
 public:
  Admission(net::EventLoop& loop, const upstream::Upstream& upstream,
            upstream::ConnectionWaitQueue* waiters, std::function<void()> retry,
            std::function<void(const std::string& why)> give_up);
  ~Admission();
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // nullopt when the request may go on; otherwise why it is refused (503).
  std::optional<std::string> admitRequest();

  enum class Slot { Granted, Waiting, Refused };
  // Before connecting anew: a pending unit, then a connection unit. Waiting:
  // queued until `retry` or `give_up`. Refused: `why` says which limit.
  Slot reserveConnection(std::string& why);
  // The connection is up (or a pooled one was taken): no longer pending.
  void connected();
  // A pooled connection brings its own unit along.
  void adoptPooledConnection();
  // The exchange's server connection closed: its unit is free.
  void connectionClosed() { slots_.release(upstream::BreakerResource::Connections); }
  // The connection went to the pool, with its unit.
  void handOverConnection() { slots_.handOverConnection(); }
  // Done: stop waiting, give back the request and pending units.
  void finished();

 private:
  std::string refusal(upstream::BreakerResource resource) const;
  void stopWaiting();

  const upstream::Upstream& upstream_;
  upstream::ConnectionWaitQueue* waiters_;
  upstream::BreakerSlots slots_;
  // The pending timer's callback captures only `this` (held without a
  // malloc by std::function); what it calls is kept here.
  std::function<void(const std::string& why)> give_up_;
  net::Timer wake_timer_;
  net::Timer pending_timer_;
  std::optional<upstream::ConnectionWaitQueue::Handle> waiting_;
};

}  // namespace fulcrum::http
