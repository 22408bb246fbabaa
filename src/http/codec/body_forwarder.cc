#include "http/codec/body_forwarder.h"

#include <algorithm>

namespace fulcrum::http {

BodyForwarder::BodyForwarder(Framing framing, uint64_t content_length, const Limits& limits,
                             uint64_t max_payload)
    : framing_(framing), remaining_(content_length), chunked_(limits), max_payload_(max_payload) {
  done_ = framing == Framing::None || (framing == Framing::ContentLength && content_length == 0);
}

void BodyForwarder::checkLimit(uint64_t payload) {
  if (max_payload_ != 0 && payload > max_payload_) {
    over_limit_ = true;
    failed_ = true;
    error_ = "body larger than the limit";
  }
}

size_t BodyForwarder::forward(evbuffer* from, evbuffer* to) {
  if (done_ || failed_) return 0;
  size_t available = evbuffer_get_length(from);
  if (available == 0) return 0;
  size_t moved = 0;
  switch (framing_) {
    case Framing::None:
      return 0;
    case Framing::ContentLength: {
      moved = static_cast<size_t>(std::min<uint64_t>(available, remaining_));
      evbuffer_remove_buffer(from, to, moved);
      remaining_ -= moved;
      done_ = remaining_ == 0;
      break;
    }
    case Framing::UntilClose:
      moved = available;
      evbuffer_add_buffer(to, from);
      break;
    case Framing::Chunked:
      moved = forwardChunked(from, to);
      break;
  }
  moved_ += moved;
  if (framing_ == Framing::Chunked)
    checkLimit(chunked_.payloadBytes());
  else
    checkLimit(moved_);
  return moved;
}

size_t BodyForwarder::forwardChunked(evbuffer* from, evbuffer* to) {
  // Scan chain by chain without making the buffer contiguous, a batch of
  // chains at a time, until the input is used up or the body ends.
  constexpr int kMaxChains = 16;
  size_t total = 0;
  while (!chunked_.done() && evbuffer_get_length(from) > 0) {
    evbuffer_iovec chains[kMaxChains];
    int count = std::min(evbuffer_peek(from, -1, nullptr, chains, kMaxChains), kMaxChains);
    size_t belongs = 0;
    for (int i = 0; i < count; ++i) {
      std::string_view bytes(static_cast<const char*>(chains[i].iov_base), chains[i].iov_len);
      belongs += chunked_.scan(bytes);
      if (chunked_.failed()) {
        failed_ = true;
        error_ = chunked_.error();
        return total;
      }
      if (chunked_.done()) break;
    }
    evbuffer_remove_buffer(from, to, belongs);
    total += belongs;
  }
  done_ = chunked_.done();
  return total;
}

void BodyForwarder::inputClosed() {
  if (done_ || failed_) return;
  if (framing_ == Framing::UntilClose) {
    done_ = true;
    return;
  }
  failed_ = true;
  error_ = "connection closed before the end of the body";
}

}  // namespace fulcrum::http
