#include "ledger/fingerprint.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace fulcrum::ledger {
namespace {

EVP_MD_CTX* digest(void* context) {
  return static_cast<EVP_MD_CTX*>(context);
}

void appendHex(std::string& out, const unsigned char* bytes, unsigned length) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < length; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
}

// SHA-256, fetched from the provider once. EVP_sha256() would be fetched
// again at every EVP_DigestInit_ex (OpenSSL 3's implicit fetch, a lookup
// under a lock): a third of what a keyed request cost the ledger.
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md;
}

// Allocation failure is fatal (STYLE.md): a ledger without digests would
// file every request under the same key.
void startSha256(EVP_MD_CTX* context) {
  if (context == nullptr || sha256() == nullptr ||
      EVP_DigestInit_ex2(context, sha256(), nullptr) != 1)
    std::abort();
}

EVP_MD_CTX* newSha256() {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  startSha256(context);
  return context;
}

// One context per thread for the one-shot digests, made again by Init
// rather than allocated per call.
struct ThreadContext {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(context); }
};

// A zero byte separates the parts, so ("AB", "C") and ("A", "BC") differ.
void update(EVP_MD_CTX* context, std::string_view part, bool separator) {
  EVP_DigestUpdate(context, part.data(), part.size());
  if (separator) EVP_DigestUpdate(context, "", 1);
}

// Appends the digest in hex to `out`, which the caller sized for it.
void appendFinalHex(EVP_MD_CTX* context, std::string& out) {
  unsigned char bytes[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(context, bytes, &length);
  appendHex(out, bytes, length);
}

constexpr size_t kHexDigestSize = 64;

}  // namespace

FingerprintBuilder::FingerprintBuilder(std::string_view method, std::string_view target)
    : context_(newSha256()) {
  update(digest(context_), method, true);
  update(digest(context_), target, true);
}

FingerprintBuilder::~FingerprintBuilder() {
  EVP_MD_CTX_free(digest(context_));
}

void FingerprintBuilder::addBody(std::string_view bytes) {
  update(digest(context_), bytes, false);
}

std::string FingerprintBuilder::finish() {
  std::string out;
  out.reserve(kHexDigestSize);
  appendFinalHex(digest(context_), out);
  return out;
}

std::string storageKey(std::string_view prefix, std::string_view scope, std::string_view key) {
  thread_local ThreadContext thread;
  startSha256(thread.context);
  update(thread.context, scope, true);
  update(thread.context, key, false);
  std::string out;
  out.reserve(prefix.size() + kHexDigestSize);
  out += prefix;
  appendFinalHex(thread.context, out);
  return out;
}

}  // namespace fulcrum::ledger
