// Duration and size literals of the config file: "250ms", "5s", "2m", "1h";
// "512", "16k", "1m", "1g" (binary multiples). Pure functions, no allocation
// beyond the error text.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time_text.h"  // formatDuration, the inverse of parseDuration

namespace fulcrum::config {

using Duration = std::chrono::milliseconds;

// Accepts <digits><unit> with unit in ms, s, m, h. A bare number is refused
// on purpose: "30" could mean seconds or milliseconds, and guessing wrong on
// a timeout is an outage.
std::optional<Duration> parseDuration(std::string_view text, std::string& why);

// Accepts <digits>[k|m|g] (case-insensitive), multiples of 1024.
std::optional<uint64_t> parseSize(std::string_view text, std::string& why);

}  // namespace fulcrum::config
