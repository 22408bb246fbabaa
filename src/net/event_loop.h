// RAII owner of one libevent event_base, run by exactly one thread.
//  - post() is the only thread-safe entry: it queues a task that runs on the
//    loop's thread, in order, during the next iteration. The base has no
//    lock: no other call into it, nor into anything registered with it
//    (events, timers, streams), may come from another thread.
//  - settleBeforeWait() runs an object's settle() once before the loop next
//    waits for events, however often the object asked during the turn.
//  - deferDelete() takes an object that must not be destroyed inside the
//    current callback stack (a session ending from its own callback); it is
//    destroyed after the current callbacks return, on the loop's thread.
// Call enableThreads() once, before any EventLoop is made.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace fulcrum::net {

class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

// Something that settles its state with the loop once per turn (net/stream.h:
// whether its socket is watched for reading, so that a read turned on and
// off again within a turn costs no epoll_ctl). settle() runs from the loop,
// as an event callback does. An object that asked for a settle and goes
// before it ran cancels it with cancelSettle().
class Settling {
 public:
  virtual void settle() = 0;

 protected:
  ~Settling() = default;
};

class EventLoop {
 public:
  static void enableThreads();

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_; }

  // Runs until stop(); returns after pending deferred deletes are done.
  void run();
  // Loop thread only; use post([&]{ loop.stop(); }) from elsewhere.
  void stop();

  void post(std::function<void()> task);
  void deferDelete(std::unique_ptr<DeferredDeletable> object);
  // `item` settles before the loop next waits. Ask once until it has: the
  // loop keeps no count.
  void settleBeforeWait(Settling& item);
  void cancelSettle(Settling& item);

  // A timer's event (net/timer.h), one of the loop's spares when it has
  // one: a request arms a timer or two, each made and freed with it.
  event* takeTimerEvent(event_callback_fn callback, void* argument);
  // Takes back an event from takeTimerEvent(), deleted first if `pending`.
  void giveTimerEvent(event* timer_event, bool pending);

 private:
  static void onPosted(evutil_socket_t, short, void* self);
  static void onDeferred(evutil_socket_t, short, void* self);
  static void onSettle(evutil_socket_t, short, void* self);
  void runPosted();
  void runDeferred();
  void runSettles();

  event_base* base_ = nullptr;
  int wake_fd_ = -1;  // an eventfd: post() writes it, the loop reads it
  event* posted_event_ = nullptr;
  event* deferred_event_ = nullptr;
  event* settle_event_ = nullptr;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  // runDeferred()'s batch, kept between turns with its capacity.
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_batch_;
  // Items to settle, and the batch runSettles() is going through.
  std::vector<Settling*> settling_;
  std::vector<Settling*> settling_batch_;
  std::vector<event*> spare_timer_events_;  // at most kMostSpareTimerEvents
};

}  // namespace fulcrum::net
