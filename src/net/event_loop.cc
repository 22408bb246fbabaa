#include "net/event_loop.h"

#include <event2/thread.h>

#include <cstdlib>

#include "core/log.h"

namespace fulcrum::net {

void EventLoop::enableThreads() {
  static const int once = evthread_use_pthreads();
  (void)once;
}

namespace {

// Left to itself, libevent makes every evbuffer and event with calloc, and
// glibc's calloc never takes a block from its per-thread cache: about 300
// instructions each, four evbuffers per proxied request. Given malloc,
// libevent zeroes what it asked for itself. The same heap either way, so a
// block libevent made before this runs is freed just as well after.
int useMallocForLibevent() {
  event_set_mem_functions(&std::malloc, &std::realloc, &std::free);
  return 0;
}

}  // namespace

EventLoop::EventLoop() {
  static const int once = useMallocForLibevent();
  (void)once;
  base_ = event_base_new();
  if (base_ == nullptr) {
    log::error("cannot create an event loop");
    std::abort();  // only out of memory or file descriptors gets here
  }
  posted_event_ = event_new(base_, -1, 0, &EventLoop::onPosted, this);
  deferred_event_ = event_new(base_, -1, 0, &EventLoop::onDeferred, this);
}

EventLoop::~EventLoop() {
  runDeferred();
  event_free(posted_event_);
  event_free(deferred_event_);
  event_base_free(base_);
}

void EventLoop::run() {
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  runDeferred();
}

void EventLoop::stop() {
  event_base_loopbreak(base_);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  event_active(posted_event_, 0, 0);
}

void EventLoop::deferDelete(std::unique_ptr<DeferredDeletable> object) {
  deferred_.push_back(std::move(object));
  if (deferred_.size() == 1) event_active(deferred_event_, 0, 0);
}

void EventLoop::onPosted(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runPosted();
}

void EventLoop::onDeferred(evutil_socket_t, short, void* self) {
  static_cast<EventLoop*>(self)->runDeferred();
}

void EventLoop::runPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void EventLoop::runDeferred() {
  // Destructors may defer more objects; keep going until none is left.
  while (!deferred_.empty()) {
    std::vector<std::unique_ptr<DeferredDeletable>> batch;
    batch.swap(deferred_);
    batch.clear();
  }
}

}  // namespace fulcrum::net
