// core::SpinLock: mutual exclusion under contention, try_lock.
#include "core/spin_lock.h"

#include <doctest/doctest.h>

#include <mutex>
#include <thread>
#include <vector>

using namespace fulcrum;

TEST_CASE("spin lock: four threads adding under it lose no increment") {
  core::SpinLock lock;
  // Two words updated apart: without the lock, an update between the two
  // would show as a difference.
  uint64_t count = 0;
  uint64_t mirror = 0;
  bool torn = false;
  constexpr int kThreads = 4;
  constexpr int kEach = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        std::lock_guard hold(lock);
        if (count != mirror) torn = true;
        ++count;
        ++mirror;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK_FALSE(torn);
  CHECK(count == uint64_t{kThreads} * kEach);
  CHECK(mirror == count);
}

TEST_CASE("spin lock: try_lock takes a free lock only") {
  core::SpinLock lock;
  REQUIRE(lock.try_lock());
  bool taken_elsewhere = true;
  std::thread other([&] { taken_elsewhere = lock.try_lock(); });
  other.join();
  CHECK_FALSE(taken_elsewhere);
  lock.unlock();
  std::unique_lock again(lock, std::try_to_lock);
  CHECK(again.owns_lock());
}
