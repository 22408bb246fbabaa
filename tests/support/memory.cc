#include "support/memory.h"

#include <cstdlib>
#include <string>

namespace fulcrum::test {

void capAsanQuarantineForChildren() {
#if defined(__SANITIZE_ADDRESS__)
  const char* inherited = std::getenv("ASAN_OPTIONS");
  std::string options = std::string(inherited ? inherited : "") + ":quarantine_size_mb=16";
  setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
}

}  // namespace fulcrum::test
