// The byte classes of RFC 9110 / 9112 (token, visible, field-value and
// host characters), one table for every layer that judges HTTP text: the
// parser (http/codec/field_rules.h uses them as its own), the config
// loader and the idempotency ledger (header names and keys are tokens).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace fulcrum::core::http_chars {

enum CharClass : uint8_t {
  kTchar = 1,       // token characters (RFC 9110 section 5.6.2)
  kVchar = 2,       // visible ASCII, 0x21-0x7E
  kFieldValue = 4,  // HTAB, SP, VCHAR, obs-text (0x80-0xFF)
  kHostChar = 8,    // reg-name, IP-literal and port: unreserved, %, sub-delims, ':', '[', ']'
};

inline constexpr std::array<uint8_t, 256> kCharClasses = [] {
  std::array<uint8_t, 256> classes{};
  auto add = [&](std::string_view chars, uint8_t cls) {
    for (char c : chars) classes[static_cast<unsigned char>(c)] |= cls;
  };
  for (int c = 0x21; c <= 0x7E; ++c) classes[c] |= kVchar | kFieldValue;
  for (int c = 0x80; c <= 0xFF; ++c) classes[c] |= kFieldValue;
  add(" \t", kFieldValue);
  constexpr std::string_view kAlnum =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  add(kAlnum, kTchar | kHostChar);
  add("!#$%&'*+-.^_`|~", kTchar);
  add("-._~%!$&'()*+,;=:[]", kHostChar);
  return classes;
}();

inline bool is(unsigned char c, uint8_t cls) {
  return (kCharClasses[c] & cls) != 0;
}

inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is(static_cast<unsigned char>(c), kTchar)) return false;
  return true;
}

}  // namespace fulcrum::core::http_chars
