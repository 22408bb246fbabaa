// Validates a chunked body (RFC 9112 section 7.1) as it streams, so a proxy
// can forward the bytes as they are, knowing where the body ends, without
// ever holding a whole body. Chunk data is skipped by length, not scanned.
// One scanner per body; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/codec/parser.h"

namespace fulcrum::http {

class ChunkedScanner {
 public:
  explicit ChunkedScanner(const Limits& limits) : max_extension_(limits.max_chunk_extension) {}

  // Scans the next bytes of the body. Returns how many of them belong to the
  // body: all of `data`, or fewer when the body ended (done()) inside it.
  // After failed(), returns 0 and scans nothing more.
  size_t scan(std::string_view data);

  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  const char* error() const { return error_; }        // why it failed
  uint64_t payloadBytes() const { return payload_; }  // chunk data seen so far

 private:
  enum class State {
    Size,       // hex digits of a chunk size
    Extension,  // after the size, up to CR
    SizeLf,     // the LF after the size line's CR
    Data,       // chunk data, `remaining_` bytes left
    DataCr,     // CR after chunk data
    DataLf,     // LF after chunk data
    Trailer,    // a trailer line (or the final empty line)
    TrailerLf,  // LF after a trailer line's CR
    Done,
    Failed,
  };
  size_t fail(const char* why);

  State state_ = State::Size;
  size_t max_extension_;
  size_t size_digits_ = 0;
  size_t extension_bytes_ = 0;
  size_t trailer_line_bytes_ = 0;
  uint64_t remaining_ = 0;
  uint64_t payload_ = 0;
  const char* error_ = "";
};

}  // namespace fulcrum::http
