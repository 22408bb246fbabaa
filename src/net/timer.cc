#include "net/timer.h"

#include "net/turn_clock.h"

namespace fulcrum::net {
namespace {

// An event that fires this close before its deadline runs the callback:
// libevent's clock is read once a loop turn, so an event can fire a little
// before the deadline read at arm() time, and waiting again for the rest
// would be a second wake-up for nothing (timeouts are in milliseconds).
constexpr std::chrono::milliseconds kCloseEnough{1};

}  // namespace

Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {}

Timer::~Timer() {
  loop_.giveTimerEvent(event_, event_pending_);
}

void Timer::arm(std::chrono::milliseconds delay) {
  const Clock::time_point now = TurnClock::now();
  deadline_ = now + delay;
  armed_ = true;
  // The waiting event fires first: it will wait on for the rest then.
  if (event_pending_ && event_due_ <= deadline_) return;
  addEvent(now, delay);
}

void Timer::cancel() {
  armed_ = false;
}

bool Timer::armed() const {
  return armed_;
}

void Timer::addEvent(Clock::time_point now, Clock::duration delay) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(micros / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(micros % 1000000);
  if (event_ == nullptr) event_ = loop_.takeTimerEvent(&Timer::onFire, this);
  evtimer_add(event_, &tv);
  event_pending_ = true;
  event_due_ = now + delay;
}

void Timer::onFire(evutil_socket_t, short, void* self) {
  Timer& timer = *static_cast<Timer*>(self);
  timer.event_pending_ = false;
  if (!timer.armed_) return;  // cancelled since: nothing to do
  TurnClock::forget();
  const Clock::time_point now = TurnClock::now();
  if (timer.deadline_ - now > kCloseEnough) {
    timer.addEvent(now, timer.deadline_ - now);  // re-armed later since
    return;
  }
  timer.armed_ = false;
  timer.callback_();
}

}  // namespace fulcrum::net
