// An Entry as one binary-safe string, for stores that keep bytes (Redis).
// The text of an in-flight claim depends only on its fingerprint and
// token, so a store can tell "still my claim" by comparing strings.
#pragma once

#include <string>
#include <string_view>

#include "ledger/store.h"

namespace fulcrum::ledger {

std::string encodeEntry(const Entry& entry);
// False when `text` is not an encodeEntry() or AnswerEncoder result
// (another writer's key).
bool decodeEntry(std::string_view text, Entry& out);
// `entry` as settle() takes it.
Settlement settlementOf(const Entry& entry);

// A kept answer's entry (Done), encoded as the server's answer streams: the
// answer is copied once, into the bytes the store keeps, not into an
// Answer first and then into its encoding. The field count and the body's
// length are written at a fixed width and filled in by finish();
// decodeEntry() reads them as it reads encodeEntry()'s.
class AnswerEncoder {
 public:
  // The answer's status line: first, once.
  void start(uint64_t claim, std::string_view fingerprint, int status, std::string_view reason);
  void field(std::string_view name, std::string_view value);
  // After the last field.
  void startBody();
  void body(std::string_view bytes);
  size_t bodySize() const;
  // The entry, encoded; the encoder is spent.
  std::string finish();

 private:
  std::string out_;  // written up to used_, sized beyond it
  size_t used_ = 0;
  size_t fields_ = 0;
  size_t count_at_ = 0;  // where the field count's digits go
  size_t body_at_ = 0;   // where the body length's digits go
};

}  // namespace fulcrum::ledger
