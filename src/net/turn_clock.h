// The steady clock as the loop's callbacks see it: read once per event a
// callback handles, not at every place that asks. A proxied request asked
// the clock fourteen times (its timers, the retry log, the pool's idle
// mark, the balancer, the request's own times), each a trip through the
// vDSO that cost as much as a small function of ours; nginx and HAProxy
// read it once per turn of their loop for the same reason.
//
// What a caller gets, on a thread that runs an EventLoop (EventLoop::run):
// the time read at the first ask since the current callback began, or
// since the loop last waited. A stream's callbacks (net/stream.h) and a
// timer's forget the time they are called with, so a reading is never
// older than the work of one callback; other callbacks (accepts, posted
// tasks, a connect's completion) share the turn's. On any other thread
// (the admin thread, a test calling straight in) it is the clock itself.
//
// Not for measuring work done inside one callback (it would read zero):
// that takes std::chrono::steady_clock::now() itself.
#pragma once

#include <chrono>

namespace fulcrum::net {

class TurnClock {
 public:
  using Clock = std::chrono::steady_clock;

  static Clock::time_point now() {
    if (!t_on_loop) return Clock::now();
    if (!t_known) {
      t_now = Clock::now();
      t_known = true;
    }
    return t_now;
  }

  // The next now() reads the clock again.
  static void forget() { t_known = false; }

  // While a Running lives, this thread's now() is cached (EventLoop::run).
  class Running {
   public:
    Running() : was_on_loop_(t_on_loop) {
      t_on_loop = true;
      t_known = false;
    }
    ~Running() {
      t_on_loop = was_on_loop_;
      t_known = false;
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    bool was_on_loop_;
  };

 private:
  static inline thread_local bool t_on_loop = false;
  static inline thread_local bool t_known = false;
  static inline thread_local Clock::time_point t_now{};
};

}  // namespace fulcrum::net
