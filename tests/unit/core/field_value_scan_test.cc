#include <doctest/doctest.h>

#include <string>

#include "core/field_value_scan.h"

namespace chars = fulcrum::core::http_chars;

namespace {

// The answer a byte at a time, from the class table.
size_t reference(const std::string& text, size_t from) {
  while (from < text.size() &&
         chars::is(static_cast<unsigned char>(text[from]), chars::kFieldValue))
    ++from;
  return from;
}

size_t scanned(const std::string& text, size_t from) {
  return chars::fieldValueEnd(reinterpret_cast<const unsigned char*>(text.data()), from,
                              text.size());
}

}  // namespace

TEST_CASE("field value scan: every byte value, at every place in and across blocks of 16") {
  for (int byte = 0; byte < 256; ++byte) {
    const bool allowed = chars::is(static_cast<unsigned char>(byte), chars::kFieldValue);
    for (size_t length : {1u, 15u, 16u, 17u, 31u, 33u, 48u}) {
      for (size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        for (size_t from : {size_t{0}, at / 2, at}) {
          CAPTURE(byte);
          CAPTURE(length);
          CAPTURE(at);
          CAPTURE(from);
          REQUIRE(scanned(text, from) == reference(text, from));
          REQUIRE(scanned(text, from) == (allowed ? length : at));
        }
      }
    }
  }
}

TEST_CASE("field value scan: HTAB, SP and obs-text pass, while CR, LF, NUL and DEL stop the run") {
  const std::string value = "a\tb c\x80\xff";
  CHECK(scanned(value + "\r\n", 0) == value.size());
  CHECK(scanned(value + "\n", 0) == value.size());
  CHECK(scanned(value + std::string(1, '\0') + "tail", 0) == value.size());
  CHECK(scanned(value + "\x7f", 0) == value.size());
  CHECK(scanned(std::string(40, 'x'), 3) == 40);
  CHECK(scanned("", 0) == 0);
}
