// Reads a chunked body (RFC 9112 section 7.1) strictly as it streams, so a
// proxy can re-frame it on the way out without ever holding a whole body:
// the framing (size lines, CRLFs, the trailer section) is checked byte by
// byte; chunk data is skipped by length, not scanned.
//
// The grammar accepted, nothing else:
//   chunk-size  = 1*16HEXDIG
//   chunk-ext   = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
//   trailer     = *( token ":" OWS field-value OWS CRLF )
// so whitespace after a size with no ';' ("5 \r\n"), a bare ';', an
// extension name or value with a byte outside a token, unbalanced quotes,
// and a trailer line that is not a field line all fail. The bytes after
// the size, per line, are bounded by Limits::max_chunk_extension; trailer
// lines by 8 KiB each and 100 in all.
//
// Two ways to drive it: scan() takes every byte of the body (data too),
// for a reader that only needs to know where the body ends; scanFraming()
// with skipData() lets the caller move the chunk data itself (and write its
// own chunk framing) while the scanner judges the rest.
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

  // Scans framing bytes from the front of `data` and stops where chunk data
  // begins (inData()), where the body ends, on failure, or at the end of
  // `data`. Returns the bytes consumed; 0 when inData() already.
  size_t scanFraming(std::string_view data);
  // Chunk data of the current chunk is next: dataLeft() bytes of it.
  bool inData() const { return state_ == State::Data; }
  uint64_t dataLeft() const { return inData() ? remaining_ : 0; }
  // The size of the chunk whose size line was read last.
  uint64_t chunkSize() const { return chunk_size_; }
  // `length` bytes of chunk data went by (at most dataLeft()).
  void skipData(uint64_t length);

  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  const char* error() const { return error_; }        // why it failed
  uint64_t payloadBytes() const { return payload_; }  // chunk data seen so far

 private:
  enum class State {
    Size,           // hex digits of a chunk size
    BeforeSemi,     // BWS after the size or an extension: only more of it or ';'
    ExtNameStart,   // after ';': BWS, then the first byte of a name
    ExtName,        // an extension name
    AfterName,      // BWS after a name: '=' or ';' next
    ExtValueStart,  // after '=': BWS, then a token or a quoted string
    ExtToken,       // an extension value as a token
    ExtQuoted,      // inside a quoted string
    ExtQuotedPair,  // after a backslash inside a quoted string
    AfterQuoted,    // after the closing quote
    SizeLf,         // the LF after the size line's CR
    Data,           // chunk data, `remaining_` bytes left
    DataCr,         // CR after chunk data
    DataLf,         // LF after chunk data
    TrailerStart,   // the first byte of a trailer line, or the CR of the final one
    TrailerName,    // a trailer field name
    TrailerValue,   // a trailer field value, up to its CR
    TrailerLf,      // LF after a trailer line's CR
    FinalLf,        // LF after the final empty line's CR
    Done,
    Failed,
  };
  bool reject(const char* why);  // fails; always false
  // One byte of framing; false when it ended the body or failed.
  bool step(unsigned char c);
  bool sizeLineByte(unsigned char c);
  bool trailerByte(unsigned char c);

  State state_ = State::Size;
  size_t max_extension_;
  size_t size_digits_ = 0;
  size_t extension_bytes_ = 0;
  size_t trailer_lines_ = 0;
  size_t trailer_line_bytes_ = 0;
  uint64_t remaining_ = 0;
  uint64_t chunk_size_ = 0;
  uint64_t payload_ = 0;
  const char* error_ = "";
};

}  // namespace fulcrum::http
