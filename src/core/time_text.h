// Times as people read them: wall-clock timestamps for logs
// ("2026-11-24T02:53:34.123Z", UTC, ms), dates such as a certificate's
// expiry (to the second), and durations for messages ("1m").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace fulcrum {

// Writes the current time into out (NUL-terminated); returns its length.
// `size` must be at least 25.
size_t formatUtcNow(char* out, size_t size);

// Unix seconds as UTC, ISO 8601 to the second: "2027-01-05T12:00:00Z".
std::string formatUtcTime(int64_t unix_seconds);

// 1500ms -> "1500ms", 60000ms -> "1m": the shortest exact form, in the
// units the config file accepts.
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace fulcrum
