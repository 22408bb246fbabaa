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
//
// Arming and cancelling are lazy, as nginx's timers are: cancel() only
// forgets the deadline, and arm() touches libevent only when the new
// deadline comes before the event already waiting. The event then fires
// at its old time, finds the deadline later (or gone) and waits on for the
// rest (or does nothing). A keep-alive request re-arms three timers and
// cancels them again; done eagerly, that was 3.5 event_add and 5.3
// event_del a request, each a trip through libevent's timer heap.
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

  using Clock = std::chrono::steady_clock;
  // Adds the event to fire `delay` from `now`.
  void addEvent(Clock::time_point now, Clock::duration delay);

  EventLoop& loop_;
  event* event_ = nullptr;  // taken from the loop at the first arm(), given back at the end
  std::function<void()> callback_;
  Clock::time_point deadline_{};   // when armed_: when the callback is due
  Clock::time_point event_due_{};  // when event_pending_: when the event fires
  bool armed_ = false;
  bool event_pending_ = false;  // in libevent's timer heap (at or before deadline_ when armed_)
};

}  // namespace fulcrum::net
