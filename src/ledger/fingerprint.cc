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

// Allocation failure is fatal (STYLE.md): a ledger without digests would
// file every request under the same key.
EVP_MD_CTX* newSha256() {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1) std::abort();
  return context;
}

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
  EVP_MD_CTX* context = newSha256();
  update(context, scope, true);
  update(context, key, false);
  std::string out(prefix);
  out += finalHex(context);
  EVP_MD_CTX_free(context);
  return out;
}

}  // namespace fulcrum::ledger
