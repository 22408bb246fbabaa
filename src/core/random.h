// A small, fast pseudo-random generator (xoshiro256**) for picks and jitter.
// Not for secrets. One instance per owner (worker, checker): no sharing, no
// locks. Seeded from the OS so workers and processes do not move in lockstep.
#pragma once

#include <cstdint>

namespace fulcrum {

class Random {
 public:
  Random();                        // seeded from getrandom(2)
  explicit Random(uint64_t seed);  // deterministic, for tests

  uint64_t next();
  // Uniform in [0, bound); bound must be > 0.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_[4];
};

}  // namespace fulcrum
