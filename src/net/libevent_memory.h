// What libevent allocates with: malloc, realloc and free, and a per-thread
// cache of the blocks of its smallest buffer chains.
//
// Left to itself, libevent makes every evbuffer and event with calloc, and
// glibc's calloc never takes a block from its per-thread cache: about 300
// instructions each. Given malloc, libevent zeroes what it asked for
// itself.
//
// A proxied request makes and frees about five chains of libevent's
// smallest size (1 KiB: a request's bytes, its rewritten head, the
// response's bytes and head). glibc's per-thread cache holds seven blocks
// of a size; with tens of requests in flight the rest went through its
// arena (about 100 instructions a free). Here a thread keeps up to
// kMostCachedChainBlocks of them (64 KiB) for its next chains; a thread's
// go back to malloc when it ends. A block freed on another thread joins
// that thread's cache: every block is plain malloc memory, so one libevent
// made before this was installed is freed just as well after. Under
// AddressSanitizer the cache is off (a block reused at once would hide a
// use after free).
#pragma once

#include <cstddef>

#include "core/sanitizer.h"

namespace fulcrum::net {

inline constexpr size_t kChainBlockBytes = 1024;  // libevent's MIN_BUFFER_SIZE
inline constexpr size_t kMostCachedChainBlocks = 64;
inline constexpr bool kCachingChainBlocks = !core::kAddressSanitizer;

// Installs the functions above; once, before the first event loop.
void useLibeventMemory();

// Chain blocks waiting in this thread's cache now.
size_t cachedChainBlocksHere();

}  // namespace fulcrum::net
