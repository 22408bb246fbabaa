// A one-shot timer on an EventLoop. The callback runs on the loop's thread.
// Destroying the Timer cancels it; the callback may re-arm or cancel its own
// Timer, but must not destroy it (hand the owner to deferDelete instead).
//
// The libevent event is taken at the first arm(): each request makes
// several timers (a retry's backoff, body pauses, a queue's wait) that
// most requests never arm, and an allocation for each was a fifth of the
// request's mallocs. It comes from the loop's spare events and goes back
// there (EventLoop::takeTimerEvent), so the one a request arms (its
// server's response timeout) is no malloc either. The loop must outlive
// its timers.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>

#include "net/event_loop.h"

namespace fulcrum::net {

class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm(std::chrono::milliseconds delay);
  void cancel();
  bool armed() const;

 private:
  static void onFire(evutil_socket_t, short, void* self);

  EventLoop& loop_;
  event* event_ = nullptr;  // taken from the loop at the first arm(), given back at the end
  std::function<void()> callback_;
};

}  // namespace fulcrum::net
