#include "core/log.h"

#include "core/time_text.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace fulcrum::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "?";
}

void vwrite(Level level, const char* fmt, va_list args) {
  if (!enabled(level)) return;
  char line[4096];
  int used = static_cast<int>(formatUtcNow(line, sizeof(line)));
  used += std::snprintf(line + used, sizeof(line) - static_cast<size_t>(used), " %s ",
                        levelName(level));
  int room = static_cast<int>(sizeof(line)) - used - 1;
  int body = std::vsnprintf(line + used, static_cast<size_t>(room) + 1, fmt, args);
  // A message longer than the buffer is cut rather than split over lines.
  used += body < 0 ? 0 : (body > room ? room : body);
  line[used++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line, static_cast<size_t>(used));
  (void)ignored;
}

}  // namespace

void setLevel(Level level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn") return Level::Warn;
  if (name == "error") return Level::Error;
  return std::nullopt;
}

#define FULCRUM_LOG_FN(fn, level) \
  void fn(const char* fmt, ...) { \
    va_list args;                 \
    va_start(args, fmt);          \
    vwrite(level, fmt, args);     \
    va_end(args);                 \
  }
FULCRUM_LOG_FN(debug, Level::Debug)
FULCRUM_LOG_FN(info, Level::Info)
FULCRUM_LOG_FN(warn, Level::Warn)
FULCRUM_LOG_FN(error, Level::Error)
#undef FULCRUM_LOG_FN

}  // namespace fulcrum::log
