// A copy into memory that nobody reads soon: the whole cache lines of the
// destination are written with non-temporal stores, which go to memory
// without first reading the line in (a cache miss per line when the
// destination is cold, as a new entry of a large store always is) and
// without pushing what the thread works on out of its cache. The partial
// lines at either end are copied as usual.
//
// Ends with a store fence: non-temporal stores are not ordered with later
// plain stores, and a lock released after the copy must publish it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fulcrum::core {

inline void copyUncached(void* destination, const void* source, size_t size) {
  auto* to = static_cast<char*>(destination);
  const auto* from = static_cast<const char*>(source);
#if defined(__SSE2__)
  constexpr size_t kLine = 64;
  const size_t lead = (kLine - (reinterpret_cast<uintptr_t>(to) & (kLine - 1))) & (kLine - 1);
  if (size >= lead + kLine) {
    std::memcpy(to, from, lead);
    to += lead;
    from += lead;
    size -= lead;
    for (; size >= kLine; to += kLine, from += kLine, size -= kLine) {
      auto* line = reinterpret_cast<__m128i*>(to);
      const auto* in = reinterpret_cast<const __m128i*>(from);
      _mm_stream_si128(line, _mm_loadu_si128(in));
      _mm_stream_si128(line + 1, _mm_loadu_si128(in + 1));
      _mm_stream_si128(line + 2, _mm_loadu_si128(in + 2));
      _mm_stream_si128(line + 3, _mm_loadu_si128(in + 3));
    }
    _mm_sfence();
  }
#endif
  std::memcpy(to, from, size);
}

}  // namespace fulcrum::core
