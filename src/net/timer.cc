#include "net/timer.h"

namespace fulcrum::net {

Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {}

Timer::~Timer() {
  loop_.giveTimerEvent(event_);
}

void Timer::arm(std::chrono::milliseconds delay) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(delay.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((delay.count() % 1000) * 1000);
  if (event_ == nullptr) event_ = loop_.takeTimerEvent(&Timer::onFire, this);
  evtimer_add(event_, &tv);
}

void Timer::cancel() {
  if (event_ != nullptr) evtimer_del(event_);
}

bool Timer::armed() const {
  return event_ != nullptr && evtimer_pending(event_, nullptr) != 0;
}

void Timer::onFire(evutil_socket_t, short, void* self) {
  static_cast<Timer*>(self)->callback_();
}

}  // namespace fulcrum::net
