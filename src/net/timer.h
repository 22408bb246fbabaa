// A one-shot timer on an EventLoop. The callback runs on the loop's thread.
// Destroying the Timer cancels it; the callback may re-arm or cancel its own
// Timer, but must not destroy it (hand the owner to deferDelete instead).
//
// The libevent event is made at the first arm(): each request makes
// several timers (a retry's backoff, body pauses, a queue's wait) that
// most requests never arm, and an allocation for each was a fifth of the
// request's mallocs.
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

  event_base* base_;
  event* event_ = nullptr;  // made by the first arm()
  std::function<void()> callback_;
};

}  // namespace fulcrum::net
