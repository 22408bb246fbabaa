// Data moves with evbuffer_remove_buffer (whole chains change hands; only
// the part of a chain a body ends inside is copied), but for a short body
// (moveBytes). Framing bytes are peeked chain by chain, judged, and
// drained: fulcrum writes its own.
#include "http/codec/body_forwarder.h"

#include <algorithm>
#include <charconv>

namespace fulcrum::http {
namespace {

constexpr char kCrlf[] = "\r\n";
constexpr char kLastChunk[] = "0\r\n\r\n";

void addChunkHeader(evbuffer* to, uint64_t size) {
  char line[20];  // 16 hex digits and CRLF
  char* end = std::to_chars(line, line + 16, size, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  evbuffer_add(to, line, static_cast<size_t>(end - line));
}

// Below this a body's bytes are copied behind what `to` holds (its head,
// most often, whose chain has room to spare) instead of moved as a chain
// of their own: the answer then leaves in one send() of one buffer, where
// two chains took a sendmsg() whose kernel path (the iovec imported, each
// segment copied and checked on its own) costs more than this copy.
constexpr size_t kCopyBelow = 512;

void moveBytes(evbuffer* from, evbuffer* to, size_t bytes) {
  if (bytes > kCopyBelow) {
    evbuffer_remove_buffer(from, to, bytes);
    return;
  }
  char copy[kCopyBelow];
  evbuffer_remove(from, copy, bytes);  // however many chains the bytes span
  evbuffer_add(to, copy, bytes);
}

}  // namespace

BodyForwarder::BodyForwarder(Framing framing, BodyOut out, uint64_t content_length,
                             const Limits& limits, uint64_t max_payload)
    : framing_(framing),
      chunk_out_(out == BodyOut::Chunked),
      remaining_(content_length),
      chunked_(limits),
      max_payload_(max_payload) {
  done_ = framing == Framing::None || (framing == Framing::ContentLength && content_length == 0);
}

void BodyForwarder::fail(const char* why) {
  failed_ = true;
  error_ = why;
}

void BodyForwarder::checkLimit() {
  const uint64_t payload = framing_ == Framing::Chunked ? chunked_.payloadBytes() : payload_;
  if (max_payload_ != 0 && payload > max_payload_) {
    over_limit_ = true;
    fail("body larger than the limit");
  }
}

size_t BodyForwarder::forward(evbuffer* from, evbuffer* to) {
  if (done_ || failed_) return 0;
  const size_t available = evbuffer_get_length(from);
  if (available == 0) return 0;
  const size_t before = evbuffer_get_length(to);
  switch (framing_) {
    case Framing::None:
      return 0;
    case Framing::ContentLength: {
      const auto take = static_cast<size_t>(std::min<uint64_t>(available, remaining_));
      moveBytes(from, to, take);
      remaining_ -= take;
      payload_ += take;
      done_ = remaining_ == 0;
      break;
    }
    case Framing::UntilClose:
      // What arrived is one chunk: the data is not looked at.
      if (chunk_out_) addChunkHeader(to, available);
      evbuffer_add_buffer(to, from);
      if (chunk_out_) evbuffer_add(to, kCrlf, 2);
      payload_ += available;
      break;
    case Framing::Chunked:
      forwardChunked(from, to);
      break;
  }
  checkLimit();
  return evbuffer_get_length(to) - before;
}

void BodyForwarder::forwardChunked(evbuffer* from, evbuffer* to) {
  while (evbuffer_get_length(from) > 0) {
    if (chunked_.inData()) {
      const auto take =
          static_cast<size_t>(std::min<uint64_t>(chunked_.dataLeft(), evbuffer_get_length(from)));
      evbuffer_remove_buffer(from, to, take);
      chunked_.skipData(take);
      // The chunk's own CRLF is judged when it comes; ours goes now, so a
      // reader that waits for it does not wait for the next chunk.
      if (chunk_out_ && !chunked_.inData()) evbuffer_add(to, kCrlf, 2);
      continue;
    }
    evbuffer_iovec span;
    if (evbuffer_peek(from, -1, nullptr, &span, 1) < 1) return;
    if (span.iov_len == 0) {
      evbuffer_pullup(from, 1);  // an empty chain in front: skip it
      continue;
    }
    const size_t used = chunked_.scanFraming(
        std::string_view(static_cast<const char*>(span.iov_base), span.iov_len));
    if (chunked_.failed()) {
      fail(chunked_.error());
      return;
    }
    evbuffer_drain(from, used);
    if (chunked_.inData() && chunk_out_) addChunkHeader(to, chunked_.chunkSize());
    if (chunked_.done()) {
      // Trailers were judged and stay behind: none of them is framing, and
      // a server or client cannot be told one fulcrum did not check.
      if (chunk_out_) evbuffer_add(to, kLastChunk, sizeof(kLastChunk) - 1);
      done_ = true;
      return;
    }
  }
}

bool BodyForwarder::checkAhead(evbuffer* from, size_t offset, const char*& why) const {
  if (framing_ != Framing::Chunked || done_ || failed_) return true;
  if (offset >= evbuffer_get_length(from)) return true;
  evbuffer_ptr start;
  if (evbuffer_ptr_set(from, &start, offset, EVBUFFER_PTR_SET) != 0) return true;
  // Usually one chain: what came in the read that brought the head.
  constexpr int kMaxSpans = 16;
  evbuffer_iovec spans[kMaxSpans];
  const int count = std::min(evbuffer_peek(from, -1, &start, spans, kMaxSpans), kMaxSpans);
  ChunkedScanner probe = chunked_;
  for (int i = 0; i < count && !probe.done(); ++i) {
    probe.scan(std::string_view(static_cast<const char*>(spans[i].iov_base), spans[i].iov_len));
    if (probe.failed()) {
      why = probe.error();
      return false;
    }
  }
  return true;
}

void BodyForwarder::inputClosed(evbuffer* to) {
  if (done_ || failed_) return;
  if (framing_ == Framing::UntilClose) {
    if (chunk_out_) evbuffer_add(to, kLastChunk, sizeof(kLastChunk) - 1);
    done_ = true;
    return;
  }
  fail("connection closed before the end of the body");
}

}  // namespace fulcrum::http
