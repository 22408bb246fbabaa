// Waiting for a condition that no log line or socket announces (a counter
// kept by a fake backend): checked every few milliseconds until it holds or
// the deadline passes. Returns whether it held. And Gate, which holds fake
// backends' answers until the test lets them go.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace fulcrum::test {

inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
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
