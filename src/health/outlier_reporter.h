// A worker's AttemptSink for one upstream. It keeps the common case local:
// a plain success is forwarded to the control loop only when it ends a
// failure streak this worker saw, so a healthy server costs no cross-thread
// traffic, while every failure (rare) is forwarded for the control loop's
// counts. Worker thread only; `forward` must be thread-safe (it posts).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "upstream/attempt_report.h"

namespace fulcrum::health {

class OutlierReporter final : public upstream::AttemptSink {
 public:
  using Forward = std::function<void(uint32_t server, const upstream::Attempt& attempt)>;

  // Reports nothing when `forward` is empty (no outlier_detection).
  OutlierReporter(size_t servers, Forward forward)
      : failing_(forward ? servers : 0), forward_(std::move(forward)) {}

  void report(uint32_t server, const upstream::Attempt& attempt) override {
    if (server >= failing_.size()) return;
    const bool success = attempt.isPlainSuccess();
    if (success && !failing_[server]) return;
    failing_[server] = !success;
    forward_(server, attempt);
  }

 private:
  std::vector<bool> failing_;  // by server index: the last result was a failure
  Forward forward_;
};

}  // namespace fulcrum::health
