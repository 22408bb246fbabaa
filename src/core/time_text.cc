#include "core/time_text.h"

#include <sys/time.h>

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace fulcrum {

size_t formatUtcNow(char* out, size_t size) {
  timeval now{};
  gettimeofday(&now, nullptr);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  int used = std::snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                           utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                           static_cast<int>(now.tv_usec / 1000));
  return used < 0 ? 0 : static_cast<size_t>(used);
}

std::string formatUtcTime(int64_t unix_seconds) {
  const auto time = static_cast<std::time_t>(unix_seconds);
  tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string formatDuration(std::chrono::milliseconds d) {
  auto ms = static_cast<uint64_t>(d.count());
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace fulcrum
