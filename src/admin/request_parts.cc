#include "admin/request_parts.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>

#include "core/hex.h"

namespace fulcrum::admin {
namespace {

bool decodeSegment(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return false;
    const int high = hexDigitValue(raw[i + 1]), low = hexDigitValue(raw[i + 2]);
    if (high < 0 || low < 0) return false;
    const char decoded = static_cast<char>(high * 16 + low);
    if (decoded == '\0') return false;
    out += decoded;
    i += 2;
  }
  return true;
}

bool sha256(std::string_view data, unsigned char (&digest)[EVP_MAX_MD_SIZE]) {
  unsigned int length = 0;
  return EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) == 1 &&
         length == 32;
}

// The credentials after "<scheme> " (scheme case-insensitive), without
// surrounding blanks.
bool schemeCredentials(const char* authorization, std::string_view scheme,
                       std::string_view& credentials) {
  if (authorization == nullptr) return false;
  std::string_view value = authorization;
  if (value.size() <= scheme.size()) return false;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return false;
  value.remove_prefix(scheme.size());
  if (value.front() != ' ') return false;
  credentials = trimBlanks(value);
  return true;
}

// Compares digests, so the time taken says nothing of where the first
// difference is, nor of the lengths. No token matches nothing.
bool sameSecret(std::string_view given, const std::string& token) {
  if (token.empty()) return false;
  unsigned char given_digest[EVP_MAX_MD_SIZE], wanted_digest[EVP_MAX_MD_SIZE];
  if (!sha256(given, given_digest) || !sha256(token, wanted_digest)) return false;
  return CRYPTO_memcmp(given_digest, wanted_digest, 32) == 0;
}

}  // namespace

std::string_view trimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool decodePathSegments(std::string_view path, std::vector<std::string>& segments) {
  segments.clear();
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    std::string segment;
    if (!decodeSegment(path.substr(0, slash), segment)) return false;
    segments.push_back(std::move(segment));
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool bearerTokenMatches(const char* authorization, const std::string& token) {
  std::string_view credentials;
  return schemeCredentials(authorization, "bearer", credentials) && sameSecret(credentials, token);
}

bool basicPasswordMatches(const char* authorization, const std::string& token) {
  std::string_view credentials;
  if (!schemeCredentials(authorization, "basic", credentials) || credentials.size() > 1024)
    return false;
  std::string decoded((credentials.size() / 4 + 1) * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(credentials.data()),
                                     static_cast<int>(credentials.size()));
  if (length < 0 || credentials.size() % 4 != 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t size = static_cast<size_t>(length);
  for (size_t i = credentials.size(); i > 0 && credentials[i - 1] == '='; --i) --size;
  decoded.resize(size);
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  return sameSecret(std::string_view(decoded).substr(colon + 1), token);
}

}  // namespace fulcrum::admin
