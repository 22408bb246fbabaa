#include "net/event_loop.h"

#include <event2/thread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "core/log.h"
#include "core/sanitizer.h"
#include "net/libevent_memory.h"
#include "net/turn_clock.h"

namespace fulcrum::net {

void EventLoop::enableThreads() {
  static const int once = evthread_use_pthreads();
  (void)once;
}

EventLoop::EventLoop() {
  static const bool once = [] {
    useLibeventMemory();
    return true;
  }();
  (void)once;
  // No lock in the base: only this loop's thread calls into it, and
  // post() wakes it through an eventfd of its own. A locked base took and
  // released its mutex at every event_add, event_del and turn of the loop,
  // some twenty times per proxied request.
  event_config* config = event_config_new();
  if (config != nullptr) event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
  base_ = config != nullptr ? event_base_new_with_config(config) : nullptr;
  if (config != nullptr) event_config_free(config);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (base_ == nullptr || wake_fd_ < 0) {
    log::error("cannot create an event loop");
    std::abort();  // only out of memory or file descriptors gets here
  }
  posted_event_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &EventLoop::onPosted, this);
  event_add(posted_event_, nullptr);
  deferred_event_ = event_new(base_, -1, 0, &EventLoop::onDeferred, this);
  settle_event_ = event_new(base_, -1, 0, &EventLoop::onSettle, this);
}

EventLoop::~EventLoop() {
  runDeferred();
  for (event* spare : spare_timer_events_) event_free(spare);
  event_free(posted_event_);
  event_free(deferred_event_);
  event_free(settle_event_);
  event_base_free(base_);
  close(wake_fd_);
}

// One turn per event_base_loop call, so that the turn's clock
// (net/turn_clock.h) is forgotten before the loop waits again.
void EventLoop::run() {
  const TurnClock::Running running;
  do {
    TurnClock::forget();
    if (event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY) < 0) break;
  } while (!event_base_got_break(base_) && !event_base_got_exit(base_));
  runDeferred();
}

void EventLoop::stop() {
  event_base_loopbreak(base_);
}

void EventLoop::post(std::function<void()> task) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    first = posted_.empty();
    posted_.push_back(std::move(task));
  }
  // Tasks after the first ride on its wake-up: runPosted() reads the
  // eventfd before it takes the queue, so none is left without one.
  if (!first) return;
  const uint64_t one = 1;
  // Only a full counter (2^64 - 2 wake-ups unread) fails, and it still wakes.
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
}

void EventLoop::deferDelete(std::unique_ptr<DeferredDeletable> object) {
  deferred_.push_back(std::move(object));
  if (deferred_.size() == 1) event_active(deferred_event_, 0, 0);
}

void EventLoop::settleBeforeWait(Settling& item) {
  settling_.push_back(&item);
  // An active event runs in this turn, before the loop waits again (and
  // the loop does not block while one is active).
  if (settling_.size() == 1) event_active(settle_event_, 0, 0);
}

void EventLoop::cancelSettle(Settling& item) {
  for (auto* list : {&settling_, &settling_batch_})
    for (Settling*& waiting : *list)
      if (waiting == &item) waiting = nullptr;
}

void EventLoop::onSettle(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runSettles();
}

void EventLoop::runSettles() {
  // A settle may ask for more (a stream's first read, from its settle,
  // changes what it watches): those go into settling_, taken next round.
  while (!settling_.empty()) {
    settling_batch_.swap(settling_);
    for (Settling* item : settling_batch_)
      if (item != nullptr) item->settle();
    settling_batch_.clear();
  }
}

void EventLoop::onPosted(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runPosted();
}

void EventLoop::onDeferred(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runDeferred();
}

void EventLoop::runPosted() {
  uint64_t wakes = 0;
  [[maybe_unused]] const ssize_t read_bytes = read(wake_fd_, &wakes, sizeof(wakes));
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void EventLoop::runDeferred() {
  // Destructors may defer more objects (into deferred_, emptied by the
  // swap); keep going until none is left. Both vectors keep their
  // capacity: a request's end used to allocate a new one.
  while (!deferred_.empty()) {
    deferred_batch_.swap(deferred_);
    deferred_batch_.clear();
  }
}

namespace {

// None under AddressSanitizer: a reused event would hide a use after free.
constexpr size_t kMostSpareTimerEvents = core::kAddressSanitizer ? 0 : 64;

}  // namespace

event* EventLoop::takeTimerEvent(event_callback_fn callback, void* argument) {
  if (spare_timer_events_.empty()) return evtimer_new(base_, callback, argument);
  event* spare = spare_timer_events_.back();
  spare_timer_events_.pop_back();
  // A spare is neither pending nor active: event_assign() may remake it.
  evtimer_assign(spare, base_, callback, argument);
  return spare;
}

void EventLoop::giveTimerEvent(event* timer_event, bool pending) {
  if (timer_event == nullptr) return;
  if (spare_timer_events_.size() >= kMostSpareTimerEvents) {
    event_free(timer_event);
    return;
  }
  if (pending) evtimer_del(timer_event);
  spare_timer_events_.push_back(timer_event);
}

}  // namespace fulcrum::net
