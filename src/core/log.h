// Process-wide logger: one line per call, written to stderr with a single
// write(2) so lines from different threads never interleave.
// Thread-safe. The level may be changed at any time (reload), readers see it
// through a relaxed atomic: a line more or less around a level change is fine.
#pragma once

#include <optional>
#include <string_view>

namespace fulcrum::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level level);
bool enabled(Level level);
std::optional<Level> parseLevel(std::string_view name);

// printf-style; the message is formatted only when the level is enabled.
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace fulcrum::log
