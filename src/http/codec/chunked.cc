// A byte-at-a-time state machine for the framing (size lines, CRLFs,
// trailers); chunk data is skipped in one step by length.
#include "http/codec/chunked.h"

#include <algorithm>

namespace fulcrum::http {
namespace {

constexpr size_t kMaxSizeDigits = 16;  // 64 bits
// size_digits_ once whitespace has ended the size: only more whitespace,
// ';' or CR may follow (RFC 9112 section 7.1.1 allows BWS before ';').
// Without this, "5 5" could be read as 5 here and as 0x55 elsewhere.
constexpr size_t kSizeEnded = static_cast<size_t>(-1);
constexpr size_t kMaxTrailerLine = size_t{8} * 1024;
constexpr size_t kMaxTrailerLines = 100;

int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Control characters other than HTAB, which may appear in values.
bool isBadControl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7F;
}

}  // namespace

size_t ChunkedScanner::fail(const char* why) {
  state_ = State::Failed;
  error_ = why;
  return 0;
}

size_t ChunkedScanner::scan(std::string_view data) {
  if (state_ == State::Done || state_ == State::Failed) return 0;
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  size_t i = 0;
  while (i < n) {
    if (state_ == State::Data) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, n - i));
      i += take;
      remaining_ -= take;
      payload_ += take;
      if (remaining_ == 0) state_ = State::DataCr;
      continue;
    }
    const unsigned char c = d[i++];
    switch (state_) {
      case State::Size: {
        const int digit = size_digits_ == kSizeEnded ? -1 : hexValue(c);
        if (digit >= 0) {
          if (++size_digits_ > kMaxSizeDigits) return fail("chunk size too large");
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(digit);
        } else if (size_digits_ == 0) {
          return fail("chunk size is not hexadecimal");
        } else if (c == '\r') {
          state_ = State::SizeLf;
        } else if (c == ';' || c == ' ' || c == '\t') {
          if (++extension_bytes_ > max_extension_) return fail("chunk extension too long");
          if (c == ';') {
            state_ = State::Extension;
          } else {
            size_digits_ = kSizeEnded;
          }
        } else {
          return fail(c == '\n' ? "bare LF after chunk size" : "invalid chunk size");
        }
        break;
      }
      case State::Extension:
        if (c == '\r') {
          state_ = State::SizeLf;
        } else if (c == '\n' || isBadControl(c)) {
          return fail("control character in chunk extension");
        } else if (++extension_bytes_ > max_extension_) {
          return fail("chunk extension too long");
        }
        break;
      case State::SizeLf:
        if (c != '\n') return fail("CR not followed by LF after chunk size");
        if (remaining_ > 0) {
          state_ = State::Data;
        } else {
          // The last chunk. In the trailer section size_digits_ counts the
          // trailer lines: no size is read there.
          state_ = State::Trailer;
          size_digits_ = 0;
          trailer_line_bytes_ = 0;
        }
        break;
      case State::DataCr:
        if (c != '\r') return fail("chunk data not followed by CRLF");
        state_ = State::DataLf;
        break;
      case State::DataLf:
        if (c != '\n') return fail("chunk data not followed by CRLF");
        state_ = State::Size;
        size_digits_ = 0;
        extension_bytes_ = 0;
        break;
      case State::Trailer:
        if (c == '\r') {
          state_ = State::TrailerLf;
          break;
        }
        if (c == '\n' || isBadControl(c)) return fail("control character in trailer");
        if (trailer_line_bytes_ == 0) {
          if (c == ' ' || c == '\t') return fail("obsolete line folding in trailer");
          if (++size_digits_ > kMaxTrailerLines) return fail("too many trailer fields");
        }
        if (++trailer_line_bytes_ > kMaxTrailerLine) return fail("trailer field too long");
        break;
      case State::TrailerLf:
        if (c != '\n') return fail("CR not followed by LF in trailer");
        if (trailer_line_bytes_ == 0) {
          state_ = State::Done;
          return i;
        }
        trailer_line_bytes_ = 0;
        state_ = State::Trailer;
        break;
      case State::Data:
      case State::Done:
      case State::Failed:
        break;  // handled above
    }
  }
  return n;
}

}  // namespace fulcrum::http
