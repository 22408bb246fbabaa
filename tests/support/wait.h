// Waiting for a condition that no log line or socket announces (a counter
// kept by a fake backend, a field of the proxy's /status.json): checked every
// few milliseconds until it holds or the deadline passes. Returns whether it
// held. And Gate, which holds fake backends' answers until the test lets
// them go.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace fulcrum::test {

// Checks until `condition` holds or the deadline passes, with a pause
// between checks that starts at `first_pause` and doubles up to
// `longest_pause`: for a condition that costs a round trip to check (a
// request to the proxy), a change that comes at once is seen at once and a
// slow one is not asked about in a tight loop.
inline bool pollUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                      std::chrono::milliseconds first_pause,
                      std::chrono::milliseconds longest_pause) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::chrono::milliseconds pause = first_pause;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, longest_pause);
  }
  return true;
}

// A check every 5ms: for conditions that cost next to nothing to check.
inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  return pollUntil(condition, deadline, std::chrono::milliseconds(5), std::chrono::milliseconds(5));
}

// A fake backend's handlers wait here until the test calls release(); the
// destructor releases them all so no handler thread outlives the test.
class Gate {
 public:
  ~Gate() { release(); }
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    opened_.wait(lock, [this] { return open_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
  int waiting_ = 0;
};

}  // namespace fulcrum::test
