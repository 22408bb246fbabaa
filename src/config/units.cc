#include "config/units.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace fulcrum::config {
namespace {

// Splits the leading run of digits from the suffix.
bool splitNumber(std::string_view text, uint64_t& number, std::string_view& suffix,
                 std::string& why) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) {
    why = "expected a number";
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) {
    why = "number is too large";
    return false;
  }
  suffix = text.substr(digits);
  return true;
}

bool multiply(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

std::optional<Duration> parseDuration(std::string_view text, std::string& why) {
  uint64_t number = 0;
  std::string_view unit;
  if (!splitNumber(text, number, unit, why)) {
    why = "expected a duration like 250ms, 5s, 2m or 1h";
    return std::nullopt;
  }
  uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else {
    why = unit.empty() ? "a duration needs a unit (ms, s, m, h)"
                       : "unknown duration unit '" + std::string(unit) + "' (ms, s, m, h)";
    return std::nullopt;
  }
  uint64_t ms = 0;
  // Cap at ~24 days so the value always fits libevent's timeval math.
  if (!multiply(number, scale, ms) || ms > 2'000'000'000ULL) {
    why = "duration is too large";
    return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(ms));
}

std::optional<uint64_t> parseSize(std::string_view text, std::string& why) {
  uint64_t number = 0;
  std::string_view unit;
  if (!splitNumber(text, number, unit, why)) {
    why = "expected a size like 512, 16k, 1m or 1g";
    return std::nullopt;
  }
  uint64_t scale = 0;
  if (unit.empty())
    scale = 1;
  else if (unit == "k" || unit == "K")
    scale = 1024;
  else if (unit == "m" || unit == "M")
    scale = 1024ULL * 1024;
  else if (unit == "g" || unit == "G")
    scale = 1024ULL * 1024 * 1024;
  else {
    why = "unknown size unit '" + std::string(unit) + "' (k, m, g)";
    return std::nullopt;
  }
  uint64_t bytes = 0;
  if (!multiply(number, scale, bytes)) {
    why = "size is too large";
    return std::nullopt;
  }
  return bytes;
}

}  // namespace fulcrum::config
