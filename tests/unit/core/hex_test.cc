// core/hex.h: the pair table and writeHex against printf's "%02x" for
// every byte value, and hexDigitValue reading back what they write.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "core/hex.h"

TEST_CASE("hex: writeHex spells every byte value as printf does, and reads back") {
  unsigned char bytes[256];
  for (int value = 0; value < 256; ++value) bytes[value] = static_cast<unsigned char>(value);
  std::string written(512, '\0');
  fulcrum::writeHex(bytes, sizeof(bytes), written.data());
  for (int value = 0; value < 256; ++value) {
    char expected[3];
    std::snprintf(expected, sizeof(expected), "%02x", value);
    REQUIRE(written.substr(2 * static_cast<size_t>(value), 2) == expected);
    REQUIRE(fulcrum::hexDigitValue(written[2 * value]) * 16 +
                fulcrum::hexDigitValue(written[2 * value + 1]) ==
            value);
  }
  std::string none = "untouched";
  fulcrum::writeHex(bytes, 0, none.data());
  CHECK(none == "untouched");
}
