#include "ledger/fingerprint.h"

// The SHA-256 functions of libcrypto itself, not EVP: OpenSSL 3.0's
// EVP_DigestInit_ex2 frees and allocates the provider's context at every
// start, and a keyed request takes two digests. These run the same
// assembly (SHA-NI where the CPU has it) on a context held here.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <new>

#include "core/hex.h"

namespace fulcrum::ledger {
namespace {

static_assert(sizeof(SHA256_CTX) <= FingerprintBuilder::kStateSize);
static_assert(alignof(SHA256_CTX) <= alignof(std::max_align_t));

SHA256_CTX& context(void* state) {
  return *static_cast<SHA256_CTX*>(state);
}

// A zero byte separates the parts, so ("AB", "C") and ("A", "BC") differ.
void update(SHA256_CTX& digest, std::string_view part, bool separator) {
  SHA256_Update(&digest, part.data(), part.size());
  if (separator) SHA256_Update(&digest, "", 1);
}

constexpr size_t kHexDigestSize = 2 * SHA256_DIGEST_LENGTH;

// Writes the digest as lower-case hex at `out` (kHexDigestSize bytes).
void finalHex(SHA256_CTX& digest, char* out) {
  unsigned char bytes[SHA256_DIGEST_LENGTH];
  SHA256_Final(bytes, &digest);
  writeHex(bytes, sizeof(bytes), out);
}

}  // namespace

FingerprintBuilder::FingerprintBuilder(std::string_view method, std::string_view target) {
  SHA256_CTX& digest = *new (state_) SHA256_CTX;
  SHA256_Init(&digest);
  update(digest, method, true);
  update(digest, target, true);
}

void FingerprintBuilder::addBody(std::string_view bytes) {
  update(context(state_), bytes, false);
}

std::string FingerprintBuilder::finish() {
  std::string out;
  finish(out);
  return out;
}

void FingerprintBuilder::finish(std::string& out) {
  out.resize(kHexDigestSize);
  finalHex(context(state_), out.data());
}

std::string storageKey(std::string_view prefix, std::string_view scope, std::string_view key) {
  std::string out;
  storageKey(prefix, scope, key, out);
  return out;
}

void storageKey(std::string_view prefix, std::string_view scope, std::string_view key,
                std::string& out) {
  SHA256_CTX digest;
  SHA256_Init(&digest);
  update(digest, scope, true);
  update(digest, key, false);
  out.resize(prefix.size() + kHexDigestSize);
  prefix.copy(out.data(), prefix.size());
  finalHex(digest, out.data() + prefix.size());
}

}  // namespace fulcrum::ledger
