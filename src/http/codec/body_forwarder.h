// Moves one message body from an input buffer to an output buffer as bytes
// arrive, stopping exactly at the body's end so whatever follows (the next
// pipelined request) stays in the input. Chunked bodies are validated on
// the way and forwarded as received. Moves buffer chains, never copies data.
#pragma once

#include <event2/buffer.h>

#include <cstdint>

#include "http/codec/chunked.h"
#include "http/codec/parser.h"

namespace fulcrum::http {

class BodyForwarder {
 public:
  // `max_payload`: body bytes allowed (0 = no limit); past it, failed() and
  // overLimit() are true.
  BodyForwarder(Framing framing, uint64_t content_length, const Limits& limits,
                uint64_t max_payload = 0);

  // Moves what belongs to the body from `from` to `to`; returns bytes moved.
  size_t forward(evbuffer* from, evbuffer* to);
  // The input closed: an until-close body ends here; any other unfinished
  // body is truncated (failed()).
  void inputClosed();

  bool done() const { return done_; }
  bool failed() const { return failed_; }
  bool overLimit() const { return over_limit_; }
  const char* error() const { return error_; }
  uint64_t bytes() const { return moved_; }  // wire bytes moved so far

 private:
  size_t forwardChunked(evbuffer* from, evbuffer* to);
  void checkLimit(uint64_t payload);

  Framing framing_;
  uint64_t remaining_;  // content-length bytes still to come
  ChunkedScanner chunked_;
  uint64_t max_payload_;
  uint64_t moved_ = 0;
  bool done_ = false;
  bool failed_ = false;
  bool over_limit_ = false;
  const char* error_ = "";
};

}  // namespace fulcrum::http
