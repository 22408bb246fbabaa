// copyUncached writes every byte of the source to the destination and
// nothing around it, whatever the destination's place in its cache line
// and the length (below one line, a partial line at either end, many
// lines).
#include "core/uncached_copy.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using fulcrum::core::copyUncached;

TEST_CASE("uncached copy: every length and line offset copies exactly the source's bytes") {
  constexpr size_t kGuard = 64;
  std::vector<unsigned char> source(700 + 5);  // copies start up to 4 bytes in
  for (size_t i = 0; i < source.size(); ++i) source[i] = static_cast<unsigned char>(i * 7 + 3);
  alignas(64) static unsigned char area[kGuard + 64 + 700 + kGuard];
  size_t checked = 0;
  for (size_t offset = 0; offset < 64; ++offset) {
    for (size_t size : {0, 1, 63, 64, 65, 127, 128, 129, 200, 255, 256, 300, 513, 700}) {
      std::fill(std::begin(area), std::end(area), 0xEE);
      unsigned char* to = area + kGuard + offset;
      copyUncached(to, source.data() + (offset % 5), size);
      bool same = true;
      for (size_t i = 0; i < size; ++i) same = same && to[i] == source[(offset % 5) + i];
      bool untouched = true;
      for (unsigned char* at = area; at < to; ++at) untouched = untouched && *at == 0xEE;
      for (unsigned char* at = to + size; at < std::end(area); ++at)
        untouched = untouched && *at == 0xEE;
      CHECK_MESSAGE(same, "offset " << offset << ", size " << size);
      CHECK_MESSAGE(untouched, "offset " << offset << ", size " << size);
      ++checked;
    }
  }
  CHECK(checked == 64 * 14);
}
