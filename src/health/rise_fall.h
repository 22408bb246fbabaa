// The rise/fall rule of an active health check, as a pure state machine:
// no clock, no I/O. An up server goes down after `fall` failures in a row;
// a down server comes up after `rise` passes in a row. A server that starts
// "down until proven" (initial_state: down) is decided by its first result
// alone, so a fresh proxy does not wait rise * interval to serve.
#pragma once

#include <cstdint>

namespace fulcrum::health {

enum class Transition : uint8_t { None, WentUp, WentDown };

class RiseFall {
 public:
  // `initially_up`: initial_state up (needs `fall` failures to leave) or
  // down (its first result decides).
  // `decided`: the state is known already (carried over a reload), so even
  // a down server needs `rise` passes.
  RiseFall(unsigned rise, unsigned fall, bool initially_up, bool decided = false);

  Transition record(bool passed);

  bool up() const { return up_; }
  // A streak toward the other state has begun but not finished: the check
  // runs at fast_interval then.
  bool changing() const { return streak_ > 0; }
  // Results in a row toward the other state.
  unsigned streak() const { return streak_; }
  // Results in a row that agree with the current state (for log lines).
  unsigned agreeing() const { return agreeing_; }

 private:
  unsigned rise_;
  unsigned fall_;
  bool up_;
  bool undecided_;  // initial_state down, no result yet
  unsigned streak_ = 0;
  unsigned agreeing_ = 0;
};

}  // namespace fulcrum::health
