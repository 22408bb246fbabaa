// Hex digits, as percent-encodings and hashes spell them.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>

namespace fulcrum {

// The two lower-case hex digits of every byte value, in order: digests and
// ids are written at every keyed or logged request, two digits per lookup.
inline constexpr std::array<char, 512> kHexPairs = [] {
  std::array<char, 512> pairs{};
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t byte = 0; byte < 256; ++byte) {
    pairs[2 * byte] = kDigits[byte >> 4];
    pairs[2 * byte + 1] = kDigits[byte & 0xf];
  }
  return pairs;
}();

// Writes `size` bytes at `bytes` as 2 * `size` lower-case hex digits at `out`.
inline void writeHex(const unsigned char* bytes, size_t size, char* out) {
  for (size_t i = 0; i < size; ++i, out += 2) std::memcpy(out, &kHexPairs[2 * bytes[i]], 2);
}

// 0-15 for a hex digit of either case, -1 for anything else.
inline int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace fulcrum
