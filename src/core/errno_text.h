// strerror for any thread: std::strerror may share a static buffer.
#pragma once

#include <string.h>

#include <string>

namespace fulcrum {

inline std::string errnoText(int error) {
  char buffer[128];
  // GNU strerror_r returns a pointer to the text, maybe not into buffer.
  return ::strerror_r(error, buffer, sizeof(buffer));
}

}  // namespace fulcrum
