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

}  // namespace

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
  if (authorization == nullptr) return false;
  std::string_view value = authorization;
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  value.remove_prefix(kScheme.size());
  if (value.front() != ' ') return false;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  unsigned char given[EVP_MAX_MD_SIZE], wanted[EVP_MAX_MD_SIZE];
  if (!sha256(value, given) || !sha256(token, wanted)) return false;
  return CRYPTO_memcmp(given, wanted, 32) == 0;
}

}  // namespace fulcrum::admin
