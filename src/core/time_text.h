// Wall-clock timestamps for logs: "2026-11-24T02:53:34.123Z" (UTC, ms).
#pragma once

#include <cstddef>

namespace fulcrum {

// Writes the current time into out (NUL-terminated); returns its length.
// `size` must be at least 25.
size_t formatUtcNow(char* out, size_t size);

}  // namespace fulcrum
