#include "core/rate_limited_log.h"

#include <cstdarg>
#include <cstdio>

namespace fulcrum::log {

RateLimit::RateLimit(unsigned burst, std::chrono::milliseconds interval)
    : burst_(burst == 0 ? 1 : burst), interval_(interval) {}

RateLimit::Pass RateLimit::admit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!started_ || now - window_start_ >= interval_) {
    // Windows start at a written line, so a quiet site's next line always
    // goes out at once.
    started_ = true;
    window_start_ = now;
    written_ = 0;
  }
  Pass pass;
  if (written_ >= burst_) {
    if (suppressed_++ == 0) first_suppressed_ = now;
    return pass;
  }
  ++written_;
  pass.write = true;
  if (suppressed_ > 0) {
    pass.suppressed = suppressed_;
    pass.span = std::chrono::duration_cast<std::chrono::milliseconds>(now - first_suppressed_);
    suppressed_ = 0;
  }
  return pass;
}

void Limited::info(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  write(Level::Info, fmt, args);
  va_end(args);
}

void Limited::warn(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  write(Level::Warn, fmt, args);
  va_end(args);
}

void Limited::error(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  write(Level::Error, fmt, args);
  va_end(args);
}

void Limited::write(Level level, const char* fmt, va_list args) {
  if (!enabled(level)) return;
  RateLimit::Pass pass = limit_.admit(RateLimit::Clock::now());
  if (!pass.write) return;
  char message[3072];
  std::vsnprintf(message, sizeof(message), fmt, args);
  char more[96] = "";
  if (pass.suppressed > 0)
    std::snprintf(more, sizeof(more), " (%llu more like this in the last %.1fs)",
                  static_cast<unsigned long long>(pass.suppressed),
                  static_cast<double>(pass.span.count()) / 1000.0);
  // Qualified: the members of the same names would be found first.
  if (level == Level::Error)
    log::error("%s%s", message, more);
  else if (level == Level::Warn)
    log::warn("%s%s", message, more);
  else
    log::info("%s%s", message, more);
}

}  // namespace fulcrum::log
