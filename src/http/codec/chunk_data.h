// The data of a chunked body, without its framing, as the body streams by:
// for a reader that must see what a body says rather than how it was cut
// into chunks (the idempotency ledger's fingerprints and kept answers).
// Framing errors end the data (failed()); the body's own reader has the
// last word on them. One per body; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "http/codec/chunked.h"

namespace fulcrum::http {

class ChunkData {
 public:
  explicit ChunkData(const Limits& limits) : scanner_(limits) {}

  // Calls each(std::string_view) for every run of data in `framed`, the
  // next bytes of the chunked body.
  template <class Each>
  void feed(std::string_view framed, Each&& each) {
    while (!framed.empty() && !scanner_.done() && !scanner_.failed()) {
      if (scanner_.inData()) {
        const size_t take = static_cast<size_t>(
            std::min<uint64_t>(scanner_.dataLeft(), static_cast<uint64_t>(framed.size())));
        each(framed.substr(0, take));
        scanner_.skipData(take);
        framed.remove_prefix(take);
      } else {
        const size_t used = scanner_.scanFraming(framed);
        if (used == 0 && !scanner_.inData()) return;
        framed.remove_prefix(used);
      }
    }
  }
  bool failed() const { return scanner_.failed(); }

 private:
  ChunkedScanner scanner_;
};

}  // namespace fulcrum::http
