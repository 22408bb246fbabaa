// Where a run of field-value bytes (RFC 9110 section 5.5: HTAB, SP, VCHAR,
// obs-text) ends: at the first control character other than HTAB, or DEL.
// An HTTP head is mostly such runs between CRLFs, and checking them a byte
// at a time through the class table was the largest share of a proxied
// request's own instructions (the head scan and the field values, both
// directions). With SSE2, sixteen bytes are judged per step.
#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/http_chars.h"

namespace fulcrum::core::http_chars {

// The first position in [from, end) whose byte is not a field-value byte,
// or `end`.
inline size_t fieldValueEnd(const unsigned char* data, size_t from, size_t end) {
#if defined(__SSE2__)
  const __m128i last_control = _mm_set1_epi8(0x1F);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7F);
  for (; from + 16 <= end; from += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + from));
    // Unsigned byte <= 0x1F: the smaller of it and 0x1F is itself.
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, last_control), bytes);
    const __m128i refused = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(bytes, tab), control),
                                         _mm_cmpeq_epi8(bytes, del));
    const int mask = _mm_movemask_epi8(refused);
    if (mask != 0) return from + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  while (from < end && is(data[from], kFieldValue)) ++from;
  return from;
}

}  // namespace fulcrum::core::http_chars
