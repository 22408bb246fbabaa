// Internal to the HTTP/1 parser: the byte classes of RFC 9110 / 9112 and
// what the fields that decide framing and the connection's fate say. Pure
// functions, no allocation; views point into the parsed head.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/http_chars.h"
#include "http/codec/parser.h"

namespace fulcrum::http::rules {

// The byte classes, shared with the layers below the parser.
using core::http_chars::CharClass;
using core::http_chars::is;
using core::http_chars::isToken;
using core::http_chars::kCharClasses;
using core::http_chars::kFieldValue;
using core::http_chars::kHostChar;
using core::http_chars::kTchar;
using core::http_chars::kVchar;

inline std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `each` with every element of a comma-separated list, OWS-trimmed;
// empty elements are passed too (RFC 9110 section 5.6.1 lets lists carry them).
template <typename Each>
void forEachElement(std::string_view value, Each&& each) {
  for (;;) {
    const size_t comma = value.find(',');
    each(trimOws(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// What the framing and connection fields of one head said, gathered as each
// field line is read. Nothing is refused here: the caller decides, because a
// bad Content-Length matters for a request but not for a 204 response.
struct FieldFacts {
  size_t host_count = 0;
  std::string_view host;  // the last Host value
  bool has_content_length = false;
  uint64_t content_length = 0;
  const char* content_length_error = nullptr;  // the first bad or differing value
  bool has_transfer_encoding = false;
  size_t chunked_count = 0;     // codings named "chunked", over all fields
  bool chunked_last = false;    // the final coding so far is "chunked"
  bool other_coding = false;    // a coding other than chunked
  bool invalid_coding = false;  // a coding that is not a token (parameters included)
  bool token_close = false;     // Connection: close
  bool token_keep_alive = false;
  bool token_upgrade = false;
  bool has_upgrade = false;  // an Upgrade field
  bool expect_continue = false;
};

// Notes one field line; Connection tokens are appended to `connection_tokens`.
void noteField(const Field& field, FieldFacts& facts,
               std::vector<std::string_view>& connection_tokens);

// True when every byte may appear in a Host value or an absolute-form
// authority (an empty value is not judged here).
bool isValidHost(std::string_view host);

}  // namespace fulcrum::http::rules
