// Whether this build runs under AddressSanitizer. The per-thread caches of
// freed blocks (core/thread_cached.h, net/buffer.h, net/libevent_memory.h)
// are off there: a block reused at once would hide a use after free.
#pragma once

namespace fulcrum::core {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace fulcrum::core
