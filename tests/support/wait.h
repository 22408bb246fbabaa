// Waiting for a condition that no log line or socket announces (a counter
// kept by a fake backend): checked every few milliseconds until it holds or
// the deadline passes. Returns whether it held.
#pragma once

#include <chrono>
#include <functional>
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

}  // namespace fulcrum::test
