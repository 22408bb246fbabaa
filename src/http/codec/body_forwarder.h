// Moves one message body from an input buffer to an output buffer as bytes
// arrive, stopping exactly at the body's end so whatever follows (the next
// pipelined request) stays in the input, and writing it in the framing
// fulcrum chose (framing.h). A chunked body is read strictly
// (ChunkedScanner) and re-framed on the way: fulcrum writes each chunk's
// size line and the last chunk, the sender's extensions and trailers stay
// behind. Data moves as buffer chains; only the framing is written.
#pragma once

#include <event2/buffer.h>

#include <cstdint>

#include "core/thread_cached.h"
#include "http/codec/chunked.h"
#include "http/codec/framing.h"
#include "http/codec/parser.h"

namespace fulcrum::http {

class BodyForwarder : public core::ThreadCached<BodyForwarder> {
 public:
  // The body arrives as `framing` (with `content_length` for
  // Framing::ContentLength) and leaves as `out`: the same framing, except
  // that a chunked body may leave as BodyOut::UntilClose (its data only)
  // and an until-close body as BodyOut::Chunked. `max_payload`: body bytes
  // allowed (0 = no limit); past it, failed() and overLimit() are true.
  BodyForwarder(Framing framing, BodyOut out, uint64_t content_length, const Limits& limits,
                uint64_t max_payload = 0);

  // Moves what belongs to the body from `from` to `to`; returns the bytes
  // written to `to` (data and fulcrum's framing).
  size_t forward(evbuffer* from, evbuffer* to);
  // The input closed: an until-close body ends here (its last chunk is
  // written to `to` when it leaves chunked); any other unfinished body is
  // truncated (failed()).
  void inputClosed(evbuffer* to);
  // Judges the body bytes already in `from` from `offset` on, moving
  // nothing: false (with `why`) when a chunked body's framing is already
  // wrong there. Lets a response fail with 502 before its head goes out.
  bool checkAhead(evbuffer* from, size_t offset, const char*& why) const;

  bool done() const { return done_; }
  bool failed() const { return failed_; }
  bool overLimit() const { return over_limit_; }
  const char* error() const { return error_; }

 private:
  void forwardChunked(evbuffer* from, evbuffer* to);
  void fail(const char* why);
  void checkLimit();

  Framing framing_;
  bool chunk_out_;        // fulcrum writes chunk framing around the data
  uint64_t remaining_;    // content-length bytes still to come
  uint64_t payload_ = 0;  // body data moved, when not chunked in
  ChunkedScanner chunked_;
  uint64_t max_payload_;
  bool done_ = false;
  bool failed_ = false;
  bool over_limit_ = false;
  const char* error_ = "";
};

}  // namespace fulcrum::http
