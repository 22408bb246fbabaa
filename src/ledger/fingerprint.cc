#include "ledger/fingerprint.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace fulcrum::ledger {
namespace {

EVP_MD_CTX* digest(void* context) {
  return static_cast<EVP_MD_CTX*>(context);
}

std::string hex(const unsigned char* bytes, unsigned length) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(length * 2, '0');
  for (unsigned i = 0; i < length; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
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

std::string finalHex(EVP_MD_CTX* context) {
  unsigned char bytes[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(context, bytes, &length);
  return hex(bytes, length);
}

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
  return finalHex(digest(context_));
}

std::string storageKey(std::string_view prefix, std::string_view scope, std::string_view key) {
  thread_local ThreadContext thread;
  startSha256(thread.context);
  update(thread.context, scope, true);
  update(thread.context, key, false);
  std::string out(prefix);
  out += finalHex(thread.context);
  return out;
}

}  // namespace fulcrum::ledger
