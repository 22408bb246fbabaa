// forEachSpan: the bytes of an evbuffer from an offset, in its own pieces,
// whether the pieces fit the list on the stack or not.
#include "net/buffer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace fulcrum;

namespace {

// A buffer with one chain per string (references are never merged).
net::Buffer pieced(const std::vector<std::string>& storage) {
  net::Buffer buffer = net::newBuffer();
  for (const std::string& piece : storage)
    evbuffer_add_reference(buffer.get(), piece.data(), piece.size(), nullptr, nullptr);
  return buffer;
}

std::vector<std::string> pieces(int count, size_t size) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.emplace_back(size, static_cast<char>('a' + i % 26));
  return out;
}

std::string joined(const std::vector<std::string>& storage) {
  std::string out;
  for (const std::string& piece : storage) out += piece;
  return out;
}

std::string collected(evbuffer* buffer, size_t offset, int& calls) {
  std::string out;
  calls = 0;
  net::forEachSpan(buffer, offset, [&](std::string_view bytes) {
    out.append(bytes);
    ++calls;
  });
  return out;
}

}  // namespace

TEST_CASE("forEachSpan: every byte from the offset, once, in the buffer's pieces") {
  for (int count : {1, 3, 8, 9, 40}) {
    CAPTURE(count);
    const std::vector<std::string> storage = pieces(count, 100);
    net::Buffer buffer = pieced(storage);
    const std::string all = joined(storage);
    int calls = 0;
    CHECK(collected(buffer.get(), 0, calls) == all);
    CHECK(calls == count);
    // An offset inside the third piece (or the last, for fewer).
    const size_t offset = count >= 3 ? 250 : 50;
    CHECK(collected(buffer.get(), offset, calls) == all.substr(offset));
    CHECK(calls == count - static_cast<int>(offset / 100));
    CHECK(collected(buffer.get(), all.size(), calls).empty());
    CHECK(calls == 0);
  }
}

// Recycled buffers: what a request made comes back to the next one, empty.
TEST_CASE("recycled buffers: a freed one is the next one made, empty, and the cache is bounded") {
  // Start from an empty cache on this thread (what earlier tests left is
  // held here until the end).
  std::vector<net::RecycledBuffer> held;
  while (net::recycledBuffersHere() > 0) held.push_back(net::newRecycledBuffer());

  net::RecycledBuffer first = net::newRecycledBuffer();
  REQUIRE(first);
  evbuffer* const address = first.get();
  // A buffer given back with bytes in it (a retry's copy) is drained.
  REQUIRE(evbuffer_add(first.get(), "left over", 9) == 0);
  first.reset();
  net::RecycledBuffer next = net::newRecycledBuffer();
  REQUIRE(next);
  CHECK(evbuffer_get_length(next.get()) == 0);
  if (net::kRecyclingBuffers) {
    CHECK(next.get() == address);
  } else {
    CHECK(net::recycledBuffersHere() == 0);
  }
  // It works as a new one does.
  REQUIRE(evbuffer_add(next.get(), "abc", 3) == 0);
  char out[4] = {};
  CHECK(evbuffer_remove(next.get(), out, sizeof(out)) == 3);
  CHECK(std::string(out) == "abc");
  next.reset();

  std::vector<net::RecycledBuffer> many;
  for (size_t i = 0; i < net::kMostRecycledBuffers + 8; ++i)
    many.push_back(net::newRecycledBuffer());
  many.clear();
  CHECK(net::recycledBuffersHere() ==
        (net::kRecyclingBuffers ? net::kMostRecycledBuffers : size_t{0}));
}
