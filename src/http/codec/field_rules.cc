#include "http/codec/field_rules.h"

#include <limits>

namespace fulcrum::http::rules {
namespace {

void noteContentLength(std::string_view value, FieldFacts& facts) {
  // Content-Length is not a list, but a list of identical values is the
  // known result of merging duplicates (RFC 9112 section 6.3), so accept it.
  forEachElement(value, [&](std::string_view element) {
    if (facts.content_length_error != nullptr) return;
    if (element.empty()) {
      facts.content_length_error = "empty Content-Length";
      return;
    }
    uint64_t length = 0;
    for (char c : element) {
      if (c < '0' || c > '9') {
        facts.content_length_error = "Content-Length is not a number";
        return;
      }
      const auto digit = static_cast<uint64_t>(c - '0');
      if (length > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
        facts.content_length_error = "Content-Length too large";
        return;
      }
      length = length * 10 + digit;
    }
    if (facts.has_content_length && length != facts.content_length) {
      facts.content_length_error = "differing Content-Length values";
      return;
    }
    facts.has_content_length = true;
    facts.content_length = length;
  });
}

void noteTransferEncoding(std::string_view value, FieldFacts& facts) {
  facts.has_transfer_encoding = true;
  forEachElement(value, [&](std::string_view coding) {
    if (coding.empty()) return;
    facts.chunked_last = equalsIgnoreCase(coding, "chunked");
    if (facts.chunked_last) ++facts.chunked_count;
    // A coding is passed on by name, so it must be one name: a coding with
    // parameters ("gzip;q=1") or odd bytes is refused, not guessed at.
    if (!facts.chunked_last) facts.other_coding = true;
    if (!isToken(coding)) facts.invalid_coding = true;
  });
}

void noteConnection(std::string_view value, FieldFacts& facts,
                    std::vector<std::string_view>& connection_tokens) {
  forEachElement(value, [&](std::string_view token) {
    if (token.empty()) return;
    connection_tokens.push_back(token);
    if (equalsIgnoreCase(token, "close")) {
      facts.token_close = true;
    } else if (equalsIgnoreCase(token, "keep-alive")) {
      facts.token_keep_alive = true;
    } else if (equalsIgnoreCase(token, "upgrade")) {
      facts.token_upgrade = true;
    }
  });
}

}  // namespace

void noteField(const Field& field, FieldFacts& facts,
               std::vector<std::string_view>& connection_tokens) {
  // Dispatch on the length first: most fields are none of these.
  const std::string_view name = field.name;
  switch (name.size()) {
    case 4:
      if (equalsIgnoreCase(name, "host")) {
        ++facts.host_count;
        facts.host = field.value;
      }
      break;
    case 6:
      if (equalsIgnoreCase(name, "expect") && equalsIgnoreCase(field.value, "100-continue")) {
        facts.expect_continue = true;
      }
      break;
    case 7:
      if (equalsIgnoreCase(name, "upgrade")) facts.has_upgrade = true;
      break;
    case 10:
      if (equalsIgnoreCase(name, "connection"))
        noteConnection(field.value, facts, connection_tokens);
      break;
    case 14:
      if (equalsIgnoreCase(name, "content-length")) noteContentLength(field.value, facts);
      break;
    case 17:
      if (equalsIgnoreCase(name, "transfer-encoding")) noteTransferEncoding(field.value, facts);
      break;
    default:
      break;
  }
}

bool isValidHost(std::string_view host) {
  for (char c : host) {
    if (!is(static_cast<unsigned char>(c), kHostChar)) return false;
  }
  return true;
}

}  // namespace fulcrum::http::rules
