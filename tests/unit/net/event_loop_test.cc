#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "support/loop.h"

using namespace fulcrum;
using test::runReady;
using test::runUntil;

TEST_CASE("event loop: tasks post()ed from other threads wake it and run once each, in order") {
  net::EventLoop loop;
  constexpr int kThreads = 4;
  constexpr int kTasks = 500;
  std::vector<std::vector<int>> ran(kThreads);  // touched on the loop's thread only
  int total = 0;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        loop.post([&, t, i] {
          ran[t].push_back(i);
          ++total;
        });
        if (i % 50 == 0) std::this_thread::yield();  // let the loop go back to waiting
      }
    });
  }
  // The loop waits for events in between: only the posts can wake it.
  const bool all_ran = runUntil(loop, [&] { return total == kThreads * kTasks; });
  for (std::thread& poster : posters) poster.join();
  REQUIRE(all_ran);
  runReady(loop);
  CHECK(total == kThreads * kTasks);
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(ran[t].size() == static_cast<size_t>(kTasks));
    for (int i = 0; i < kTasks; ++i) CHECK(ran[t][static_cast<size_t>(i)] == i);
  }
}

TEST_CASE("event loop: a task post()ed from the loop's own task runs on a later turn") {
  net::EventLoop loop;
  std::vector<int> order;
  loop.post([&] {
    order.push_back(1);
    loop.post([&] { order.push_back(3); });
    order.push_back(2);
  });
  REQUIRE(runUntil(loop, [&] { return order.size() == 3; }));
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("event loop: a deferred delete runs after the callback that asked for it") {
  net::EventLoop loop;
  struct Tracked : net::DeferredDeletable {
    explicit Tracked(bool& gone) : gone_(gone) {}
    ~Tracked() override { gone_ = true; }
    bool& gone_;
  };
  bool gone = false;
  bool gone_inside = true;
  loop.post([&] {
    loop.deferDelete(std::make_unique<Tracked>(gone));
    gone_inside = gone;
  });
  REQUIRE(runUntil(loop, [&] { return gone; }));
  CHECK_FALSE(gone_inside);
}

namespace {

struct CountingSettle final : net::Settling {
  void settle() override {
    ++settled;
    if (then) then();
  }
  int settled = 0;
  std::function<void()> then;
};

}  // namespace

TEST_CASE(
    "event loop: an item settles in the turn that asked, before the loop waits, and a cancelled "
    "one does not") {
  net::EventLoop loop;
  CountingSettle first;
  CountingSettle cancelled;
  CountingSettle asked_from_a_settle;
  first.then = [&] { loop.settleBeforeWait(asked_from_a_settle); };
  asked_from_a_settle.then = [&] { loop.stop(); };
  loop.post([&] {
    loop.settleBeforeWait(first);
    loop.settleBeforeWait(cancelled);
    loop.cancelSettle(cancelled);
  });
  // Nothing else wakes the loop: run() returns at once only if the settles
  // ran in the posting turn, and the one a settle asked for in that turn
  // too. Past a deadline a guard stops it, and the checks below fail.
  std::mutex mutex;
  std::condition_variable changed;
  bool returned = false;
  std::thread guard([&] {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::seconds(5), [&] { return returned; }))
      loop.post([&] { loop.stop(); });
  });
  loop.run();
  {
    std::lock_guard lock(mutex);
    returned = true;
  }
  changed.notify_one();
  guard.join();
  CHECK(first.settled == 1);
  CHECK(asked_from_a_settle.settled == 1);
  CHECK(cancelled.settled == 0);
}
