#include "net/turn_clock.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "net/event_loop.h"
#include "net/timer.h"
#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Lets at least `span` of steady time pass on this thread (a callback that
// works that long), without sleeping.
void workFor(Clock::duration span) {
  const Clock::time_point until = Clock::now() + span;
  while (Clock::now() < until) {
  }
}

// Runs `loop` (EventLoop::run, as a worker does) until a task it runs
// stops it; a timer bounds a hang.
void runLoop(net::EventLoop& loop) {
  // Noted, not failed, from the callback: an exception must not unwind
  // through libevent.
  bool expired = false;
  net::Timer deadline(loop, [&] {
    expired = true;
    loop.stop();
  });
  deadline.arm(std::chrono::duration_cast<std::chrono::milliseconds>(test::kLoopDeadline));
  loop.run();
  REQUIRE_MESSAGE(!expired, "the loop was not stopped in time");
}

// Records the turn clock when its stream is read, then works for `work`.
class ClockReader final : public net::StreamHandler {
 public:
  explicit ClockReader(Clock::duration work) : work_(work) {}
  void onReadable(net::Stream& stream) override {
    read_at = net::TurnClock::now();
    evbuffer_drain(stream.input(), evbuffer_get_length(stream.input()));
    workFor(work_);
  }
  void onDrained(net::Stream&) override {}
  void onClosed(net::Stream&, bool, int) override {}

  Clock::time_point read_at{};

 private:
  Clock::duration work_;
};

}  // namespace

TEST_CASE("turn clock: off a running loop it is the steady clock") {
  const Clock::time_point first = net::TurnClock::now();
  workFor(2ms);
  CHECK(net::TurnClock::now() - first >= 2ms);
}

TEST_CASE("turn clock: within one callback it is read once, and again after forget()") {
  net::EventLoop loop;
  Clock::time_point first{}, same{}, after_forget{};
  loop.post([&] {
    first = net::TurnClock::now();
    workFor(2ms);
    same = net::TurnClock::now();
    net::TurnClock::forget();
    after_forget = net::TurnClock::now();
    loop.stop();
  });
  runLoop(loop);
  CHECK(same == first);
  CHECK(after_forget - first >= 2ms);
  // The loop has returned: the thread reads the clock itself again.
  const Clock::time_point off = net::TurnClock::now();
  workFor(1ms);
  CHECK(net::TurnClock::now() - off >= 1ms);
}

TEST_CASE("turn clock: a later turn of the loop reads it anew") {
  net::EventLoop loop;
  Clock::time_point first{}, next_turn{};
  loop.post([&] {
    first = net::TurnClock::now();
    workFor(2ms);
    // Runs from the eventfd this post writes: in the loop's next turn.
    loop.post([&] {
      next_turn = net::TurnClock::now();
      loop.stop();
    });
  });
  runLoop(loop);
  CHECK(next_turn - first >= 2ms);
}

TEST_CASE("turn clock: each stream callback of one turn reads it anew") {
  net::EventLoop loop;
  test::Fd peer_a, peer_b;
  std::unique_ptr<net::Stream> a = test::pairedStream(loop, peer_a);
  std::unique_ptr<net::Stream> b = test::pairedStream(loop, peer_b);
  ClockReader reader_a(2ms), reader_b(2ms);
  a->setHandler(&reader_a);
  b->setHandler(&reader_b);
  a->setReading(true);
  b->setReading(true);
  // Both readable before the loop waits: one turn calls both streams back.
  REQUIRE(test::writeAvailable(peer_a.get(), "x", 0) == 1);
  REQUIRE(test::writeAvailable(peer_b.get(), "y", 0) == 1);
  net::Timer stop(loop, [&loop] { loop.stop(); });
  loop.post([&] { stop.arm(1ms); });
  runLoop(loop);
  REQUIRE(reader_a.read_at != Clock::time_point{});
  REQUIRE(reader_b.read_at != Clock::time_point{});
  // Whichever ran second ran after the first one's 2 ms of work.
  const auto apart = reader_a.read_at > reader_b.read_at ? reader_a.read_at - reader_b.read_at
                                                         : reader_b.read_at - reader_a.read_at;
  CHECK(apart >= 2ms);
}
