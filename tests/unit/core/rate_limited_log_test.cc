#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/rate_limited_log.h"

using fulcrum::log::RateLimit;
using namespace std::chrono_literals;

namespace {

RateLimit::Clock::time_point at(std::chrono::milliseconds offset) {
  return RateLimit::Clock::time_point{} + 1h + offset;
}

}  // namespace

TEST_CASE("a rate limit writes the first lines of an interval and counts the rest") {
  RateLimit limit(3, 10s);
  CHECK(limit.admit(at(0ms)).write);
  CHECK(limit.admit(at(1ms)).write);
  CHECK(limit.admit(at(2ms)).write);
  for (int i = 0; i < 100; ++i)
    CHECK_FALSE(limit.admit(at(3ms + std::chrono::milliseconds(i))).write);
  // The interval is over: the next line goes out and tells what was left out.
  RateLimit::Pass next = limit.admit(at(10s));
  CHECK(next.write);
  CHECK(next.suppressed == 100);
  CHECK(next.span == 10s - 3ms);
  // Said once: the lines after it carry no count.
  RateLimit::Pass after = limit.admit(at(10s + 1ms));
  CHECK(after.write);
  CHECK(after.suppressed == 0);
}

TEST_CASE("a rate limit under its burst never holds a line back") {
  RateLimit limit(2, 1s);
  for (int i = 0; i < 10; ++i) {
    RateLimit::Pass pass = limit.admit(at(std::chrono::milliseconds(i * 600)));
    CHECK(pass.write);
    CHECK(pass.suppressed == 0);
  }
}

TEST_CASE("a rate limit's interval starts at a written line, so a quiet site speaks at once") {
  RateLimit limit(1, 10s);
  CHECK(limit.admit(at(0ms)).write);
  CHECK_FALSE(limit.admit(at(9999ms)).write);
  RateLimit::Pass later = limit.admit(at(1h));
  CHECK(later.write);
  CHECK(later.suppressed == 1);
  CHECK(later.span == 1h - 9999ms);
  CHECK_FALSE(limit.admit(at(1h + 1ms)).write);
}

TEST_CASE("a rate limit shared by threads lets exactly its burst through per interval") {
  RateLimit limit(5, 1h);
  std::atomic<int> written{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limit.admit(at(std::chrono::milliseconds(i))).write) ++written;
    });
  for (auto& thread : threads) thread.join();
  CHECK(written == 5);
  RateLimit::Pass next = limit.admit(at(2h));
  CHECK(next.write);
  CHECK(next.suppressed == 4 * 1000 - 5);
}

TEST_CASE("a zero burst still writes one line per interval") {
  RateLimit limit(0, 1s);
  CHECK(limit.admit(at(0ms)).write);
  CHECK_FALSE(limit.admit(at(1ms)).write);
}
