// SHA-256 digests for the idempotency ledger: the fingerprint of a request
// (method, target and body: a repeat must match all three), and the
// storage key of an idempotency key within its scope (the scope value is
// a credential such as Authorization, so only its digest is kept).
#pragma once

#include <string>
#include <string_view>

namespace fulcrum::ledger {

// Fed the body as it arrives; finish() once. Not copyable (it owns an
// OpenSSL digest context). Any thread, one at a time.
class FingerprintBuilder {
 public:
  FingerprintBuilder(std::string_view method, std::string_view target);
  ~FingerprintBuilder();
  FingerprintBuilder(const FingerprintBuilder&) = delete;
  FingerprintBuilder& operator=(const FingerprintBuilder&) = delete;

  void addBody(std::string_view bytes);
  // 64 lower-case hex digits; the builder is spent after it.
  std::string finish();

 private:
  void* context_;  // EVP_MD_CTX, kept out of this header
};

// The key a store files an entry under: `prefix` followed by the hex
// SHA-256 of scope and key (fixed length, no client text in clear).
std::string storageKey(std::string_view prefix, std::string_view scope, std::string_view key);

}  // namespace fulcrum::ledger
