// A lock for critical sections of a few hundred nanoseconds (the memory
// ledger's claims and settles), as HAProxy locks its shared tables.
//
// Why not std::mutex: its unlock is a locked instruction, which waits
// until every store before it has reached the cache. A claim writes a new
// slot, key and fingerprint into lines no core has touched for minutes,
// so the unlock waited for all of them (0.19 µs per keyed request in a
// profile). Here unlock() is a plain release store: the writes complete
// while the request goes on.
//
// A waiter spins briefly on a read of the flag (no writes, so the holder's
// line is not stolen) and then yields its core, so a holder preempted by
// the scheduler is not starved by its waiters. Meets BasicLockable and
// Lockable (std::lock_guard, std::unique_lock with try_to_lock).
#pragma once

#include <sched.h>

#include <atomic>

namespace fulcrum::core {

class SpinLock {
 public:
  void lock() {
    for (;;) {
      if (!held_.exchange(true, std::memory_order_acquire)) return;
      for (int spins = 0; held_.load(std::memory_order_relaxed); ++spins) {
        if (spins < kSpinsBeforeYield)
          relax();
        else
          sched_yield();
      }
    }
  }
  bool try_lock() {
    return !held_.load(std::memory_order_relaxed) &&
           !held_.exchange(true, std::memory_order_acquire);
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  static constexpr int kSpinsBeforeYield = 100;

  // Tells the core this is a spin (it saves power and leaves the sibling
  // hyperthread its share).
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  std::atomic<bool> held_{false};
};

}  // namespace fulcrum::core
