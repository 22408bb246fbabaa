#include "admin/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "admin/request_parts.h"
#include "http/codec/parser.h"

namespace fulcrum::admin {
namespace {

// zlib's windowBits: 15 (32 KiB window) + 16 asks for the gzip wrapper.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;

// "q=0", "q=0.0", "q=0.000" refuse the coding (RFC 9110 12.4.2).
bool zeroQuality(std::string_view parameters) {
  while (!parameters.empty()) {
    size_t semicolon = parameters.find(';');
    std::string_view parameter = trimBlanks(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? "" : parameters.substr(semicolon + 1);
    size_t equals = parameter.find('=');
    if (equals == std::string_view::npos ||
        !http::equalsIgnoreCase(trimBlanks(parameter.substr(0, equals)), "q"))
      continue;
    std::string_view value = trimBlanks(parameter.substr(equals + 1));
    if (value.empty() || value.front() != '0') return false;
    value.remove_prefix(1);
    if (value.empty()) return true;
    if (value.front() != '.') return false;
    value.remove_prefix(1);
    return std::all_of(value.begin(), value.end(), [](char c) { return c == '0'; });
  }
  return false;
}

}  // namespace

bool gzipCompress(std::string_view data, std::string& out) {
  // One deflate() call takes at most uInt bytes; metrics text is far below.
  if (data.size() > std::numeric_limits<uInt>::max() / 2) return false;
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return false;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())));
  // zlib's API is not const-correct; it only reads next_in.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  // deflateBound() guarantees one Z_FINISH call is enough.
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END;
}

bool acceptsGzip(const char* accept_encoding) {
  if (accept_encoding == nullptr) return false;
  std::string_view list = accept_encoding;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
    size_t semicolon = element.find(';');
    std::string_view coding = trimBlanks(element.substr(0, semicolon));
    std::string_view parameters =
        semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1);
    if (http::equalsIgnoreCase(coding, "gzip") || http::equalsIgnoreCase(coding, "x-gzip"))
      if (!zeroQuality(parameters)) return true;
  }
  return false;
}

}  // namespace fulcrum::admin
