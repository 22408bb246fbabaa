// SHA-256 digests for the idempotency ledger: the fingerprint of a request
// (method, target and body: a repeat must match all three), and the
// storage key of an idempotency key within its scope (the scope value is
// a credential such as Authorization, so only its digest is kept).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fulcrum::ledger {

// Fed the body as it arrives; finish() once. Holds the digest's state
// itself (no allocation); any thread, one at a time.
class FingerprintBuilder {
 public:
  // Room for OpenSSL's SHA256_CTX, kept out of this header.
  static constexpr size_t kStateSize = 112;

  FingerprintBuilder(std::string_view method, std::string_view target);
  FingerprintBuilder(const FingerprintBuilder&) = delete;
  FingerprintBuilder& operator=(const FingerprintBuilder&) = delete;

  void addBody(std::string_view bytes);
  // 64 lower-case hex digits; the builder is spent after it.
  std::string finish();
  // The same, written over `out` (whose buffer is kept).
  void finish(std::string& out);

 private:
  alignas(std::max_align_t) unsigned char state_[kStateSize];
};

// The key a store files an entry under: `prefix` followed by the hex
// SHA-256 of scope and key (fixed length, no client text in clear).
std::string storageKey(std::string_view prefix, std::string_view scope, std::string_view key);
// The same, written over `out` (whose buffer is kept).
void storageKey(std::string_view prefix, std::string_view scope, std::string_view key,
                std::string& out);

}  // namespace fulcrum::ledger
