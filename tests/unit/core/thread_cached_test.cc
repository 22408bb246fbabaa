#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include "core/thread_cached.h"

using fulcrum::core::ThreadCached;

namespace {

struct Cached : ThreadCached<Cached, 4> {
  virtual ~Cached() = default;
  char payload[1200] = {};
};

// Larger than its base: its blocks are not the cache's size.
struct Larger final : Cached {
  char more[64] = {};
};

}  // namespace

TEST_CASE("thread cache: a freed block serves the next object of the class on that thread") {
  if (!Cached::kCaching) return;  // off under AddressSanitizer
  auto first = std::make_unique<Cached>();
  const void* where = first.get();
  first.reset();
  CHECK(Cached::cachedHere() == 1);
  auto second = std::make_unique<Cached>();
  CHECK(static_cast<const void*>(second.get()) == where);
  CHECK(Cached::cachedHere() == 0);
}

TEST_CASE("thread cache: at most its bound of blocks waits, the rest go back to malloc") {
  if (!Cached::kCaching) return;
  std::vector<std::unique_ptr<Cached>> objects;
  for (int i = 0; i < 10; ++i) objects.push_back(std::make_unique<Cached>());
  objects.clear();
  CHECK(Cached::cachedHere() == 4);
  for (int i = 0; i < 6; ++i) objects.push_back(std::make_unique<Cached>());
  CHECK(Cached::cachedHere() == 0);
  objects.clear();
}

TEST_CASE("thread cache: a derived object of another size neither takes nor leaves a block") {
  if (!Cached::kCaching) return;
  std::vector<std::unique_ptr<Cached>> objects;
  objects.push_back(std::make_unique<Cached>());
  objects.clear();
  const size_t before = Cached::cachedHere();
  std::unique_ptr<Cached> larger = std::make_unique<Larger>();
  CHECK(Cached::cachedHere() == before);
  larger.reset();  // deleted through the base: freed by size, not cached
  CHECK(Cached::cachedHere() == before);
}

TEST_CASE("thread cache: each thread keeps its own blocks") {
  if (!Cached::kCaching) return;
  auto kept = std::make_unique<Cached>();
  kept.reset();
  const size_t here = Cached::cachedHere();
  size_t there_before = 0;
  size_t there_after = 0;
  std::thread other([&] {
    there_before = Cached::cachedHere();
    auto object = std::make_unique<Cached>();
    object.reset();
    there_after = Cached::cachedHere();
  });
  other.join();
  CHECK(there_before == 0);
  CHECK(there_after == 1);
  CHECK(Cached::cachedHere() == here);
}
