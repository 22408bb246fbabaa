#include "http/codec/path_normalizer.h"

#include <vector>

#include "core/hex.h"

namespace fulcrum::http {
namespace {

bool isUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool isDotSegment(std::string_view segment) {
  return segment == "." || segment == "..";
}

// The common case, checked without writing anything: no percent sign, no
// empty segment and no dot segment.
bool alreadyCanonical(std::string_view path) {
  if (path.find('%') != std::string_view::npos) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (isDotSegment(segment)) return false;
    if (segment.empty() && end < path.size()) return false;  // "//"
    start = end + 1;
  }
  return true;
}

// Decodes unreserved characters and upper-cases the hex of the rest.
bool decodeUnreserved(std::string_view path, std::string& out) {
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    if (i + 2 >= path.size()) return false;
    const int high = hexDigitValue(path[i + 1]);
    const int low = hexDigitValue(path[i + 2]);
    if (high < 0 || low < 0) return false;
    const char decoded = static_cast<char>(high * 16 + low);
    if (isUnreserved(decoded)) {
      out.push_back(decoded);
    } else {
      static const char kUpperHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kUpperHex[high]);
      out.push_back(kUpperHex[low]);
    }
    i += 2;
  }
  return true;
}

}  // namespace

PathVerdict normalizePath(std::string_view target, std::string& out) {
  if (target.empty() || target.front() != '/') return PathVerdict::Canonical;  // "*"
  const size_t query_at = target.find('?');
  const std::string_view path = target.substr(0, query_at);
  const std::string_view query =
      query_at == std::string_view::npos ? std::string_view() : target.substr(query_at);
  if (alreadyCanonical(path)) return PathVerdict::Canonical;

  std::string decoded;
  if (!decodeUnreserved(path, decoded)) return PathVerdict::BadPercent;

  std::vector<std::string_view> kept;
  bool trailing_slash = false;
  size_t start = 1;
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string::npos) end = decoded.size();
    std::string_view segment = std::string_view(decoded).substr(start, end - start);
    const bool last = end == decoded.size();
    start = end + 1;
    if (segment == "..") {
      if (kept.empty()) return PathVerdict::Climbs;
      kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
      trailing_slash = false;
      continue;
    }
    // "/a/b/..", "/a/." and "/a/" all end in a directory.
    trailing_slash = last || trailing_slash;
  }

  std::string canonical = "/";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) canonical.push_back('/');
    canonical.append(kept[i]);
  }
  if (trailing_slash && !kept.empty()) canonical.push_back('/');
  canonical.append(query);
  if (canonical == target) return PathVerdict::Canonical;
  out = std::move(canonical);
  return PathVerdict::Normalized;
}

}  // namespace fulcrum::http
