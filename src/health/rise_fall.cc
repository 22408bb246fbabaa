#include "health/rise_fall.h"

namespace fulcrum::health {

RiseFall::RiseFall(unsigned rise, unsigned fall, bool initially_up, bool decided)
    : rise_(rise < 1 ? 1 : rise),
      fall_(fall < 1 ? 1 : fall),
      up_(initially_up),
      undecided_(!initially_up && !decided) {}

Transition RiseFall::record(bool passed) {
  if (undecided_) {
    undecided_ = false;
    agreeing_ = 1;
    if (!passed) return Transition::None;
    up_ = true;
    return Transition::WentUp;
  }
  if (passed == up_) {
    // A result that agrees with the state ends any streak toward the other.
    streak_ = 0;
    ++agreeing_;
    return Transition::None;
  }
  if (streak_ == 0) agreeing_ = 0;
  ++streak_;
  if (streak_ < (up_ ? fall_ : rise_)) return Transition::None;
  up_ = !up_;
  agreeing_ = streak_;
  streak_ = 0;
  return up_ ? Transition::WentUp : Transition::WentDown;
}

}  // namespace fulcrum::health
