// libevent's memory (net/libevent_memory.h): the blocks of its smallest
// chains are kept per thread, up to a bound, and handed out again.
#include "net/libevent_memory.h"

#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/buffer.h"
#include "net/event_loop.h"

using namespace fulcrum;

namespace {

// A buffer holding `text` in one chain of libevent's smallest size.
net::Buffer smallChain(const std::string& text) {
  net::Buffer buffer = net::newBuffer();
  REQUIRE(evbuffer_add(buffer.get(), text.data(), text.size()) == 0);
  return buffer;
}

}  // namespace

TEST_CASE("libevent memory: a small chain's block is kept for the next one, up to the bound") {
  net::EventLoop loop;  // installs the functions
  std::vector<net::Buffer> held;
  // Whatever earlier tests left in this thread's cache is taken first.
  while (net::cachedChainBlocksHere() > 0) held.push_back(smallChain("x"));

  net::Buffer first = smallChain("first");
  first.reset();
  CHECK(net::cachedChainBlocksHere() == (net::kCachingChainBlocks ? 1u : 0u));
  net::Buffer second = smallChain("second");
  CHECK(net::cachedChainBlocksHere() == 0);
  // The block reused holds what was written to it, whole.
  char out[16] = {};
  REQUIRE(evbuffer_copyout(second.get(), out, sizeof(out)) == 6);
  CHECK(std::string(out, 6) == "second");

  // Larger chains are not kept.
  net::Buffer large = net::newBuffer();
  const std::string big(8000, 'b');
  REQUIRE(evbuffer_add(large.get(), big.data(), big.size()) == 0);
  large.reset();
  CHECK(net::cachedChainBlocksHere() == 0);

  std::vector<net::Buffer> many;
  for (size_t i = 0; i < net::kMostCachedChainBlocks + 20; ++i)
    many.push_back(smallChain("chain " + std::to_string(i)));
  many.clear();
  CHECK(net::cachedChainBlocksHere() ==
        (net::kCachingChainBlocks ? net::kMostCachedChainBlocks : size_t{0}));

  // Each thread has its own; a thread's go back to malloc when it ends.
  size_t seen_by_other = 1;
  size_t other_after_free = 0;
  std::thread other([&] {
    seen_by_other = net::cachedChainBlocksHere();
    net::Buffer buffer = smallChain("other thread");
    buffer.reset();
    other_after_free = net::cachedChainBlocksHere();
  });
  other.join();
  CHECK(seen_by_other == 0);
  CHECK(other_after_free == (net::kCachingChainBlocks ? 1u : 0u));
}
