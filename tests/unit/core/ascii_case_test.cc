// core::equalsIgnoreCase against the byte-at-a-time definition: every pair
// of byte values, at every place of strings of 1 to 24 bytes (across and
// inside the eight-byte words and the overlapping last one), and
// lowerAscii8 against lowerAscii for every byte value in every lane.
#include <doctest/doctest.h>

#include <string>

#include "core/ascii_case.h"

using fulcrum::core::equalsIgnoreCase;
using fulcrum::core::lowerAscii;
using fulcrum::core::lowerAscii8;

namespace {

bool byteAtATime(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x |= 0x20;
    if (y >= 'A' && y <= 'Z') y |= 0x20;
    if (x != y) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("ascii case: lowerAscii8 lowers each lane as lowerAscii does") {
  for (int lane = 0; lane < 8; ++lane) {
    for (int value = 0; value < 256; ++value) {
      // The other lanes hold bytes on either side of the letters.
      uint64_t word = 0x40'5B'60'7B'C1'DA'41'5Aull;
      word &= ~(0xffull << (8 * lane));
      word |= static_cast<uint64_t>(value) << (8 * lane);
      const uint64_t lowered = lowerAscii8(word);
      for (int other = 0; other < 8; ++other) {
        const auto in = static_cast<unsigned char>(word >> (8 * other));
        const auto out = static_cast<unsigned char>(lowered >> (8 * other));
        REQUIRE(out == lowerAscii(in));
      }
    }
  }
}

TEST_CASE("ascii case: equalsIgnoreCase agrees with the byte-at-a-time compare") {
  const std::string base = "Content-Type-X-Forwarded";  // 24 bytes
  for (size_t size = 1; size <= base.size(); ++size) {
    const std::string a = base.substr(0, size);
    for (size_t at = 0; at < size; ++at) {
      for (int value = 0; value < 256; ++value) {
        std::string b = a;
        b[at] = static_cast<char>(value);
        REQUIRE(equalsIgnoreCase(a, b) == byteAtATime(a, b));
        REQUIRE(equalsIgnoreCase(b, a) == byteAtATime(b, a));
      }
    }
  }
  CHECK(equalsIgnoreCase("IDEMPOTENCY-KEY", "idempotency-key"));
  CHECK_FALSE(equalsIgnoreCase("Idempotency-Key", "Accept-Encoding"));
  CHECK_FALSE(equalsIgnoreCase("content-length", "content-lengt"));
  CHECK(equalsIgnoreCase("", ""));
  // '@' and '[' sit next to the letters; 0xC1 and 0xE1 differ by 0x20 too.
  CHECK_FALSE(equalsIgnoreCase("@@@@@@@@@", "`````````"));
  CHECK_FALSE(equalsIgnoreCase("[[[[[[[[[", "{{{{{{{{{"));
  CHECK_FALSE(equalsIgnoreCase("\xC1\xC1\xC1\xC1\xC1\xC1\xC1\xC1\xC1",
                               "\xE1\xE1\xE1\xE1\xE1\xE1\xE1\xE1\xE1"));
}
