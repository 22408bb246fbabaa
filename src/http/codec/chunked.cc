// A byte-at-a-time state machine for the framing (size lines, CRLFs,
// trailers); chunk data is skipped in one step by length. Each state
// accepts only what the grammar in chunked.h allows next, so the first byte
// that could make two parsers disagree ends the body.
#include "http/codec/chunked.h"

#include <algorithm>

#include "http/codec/field_rules.h"

namespace fulcrum::http {
namespace {

constexpr size_t kMaxSizeDigits = 16;  // 64 bits
constexpr size_t kMaxTrailerLine = size_t{8} * 1024;
constexpr size_t kMaxTrailerLines = 100;

int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isSpTab(unsigned char c) {
  return c == ' ' || c == '\t';
}

bool isToken(unsigned char c) {
  return rules::is(c, rules::kTchar);
}

// qdtext (RFC 9110 section 5.6.4): HTAB, SP, and VCHAR and obs-text but
// for '"' and '\'.
bool isQdtext(unsigned char c) {
  return (rules::is(c, rules::kFieldValue) && c != '"' && c != '\\');
}

}  // namespace

bool ChunkedScanner::reject(const char* why) {
  state_ = State::Failed;
  error_ = why;
  return false;
}

void ChunkedScanner::skipData(uint64_t length) {
  length = std::min(length, dataLeft());
  remaining_ -= length;
  payload_ += length;
  if (state_ == State::Data && remaining_ == 0) state_ = State::DataCr;
}

size_t ChunkedScanner::scan(std::string_view data) {
  size_t i = 0;
  while (i < data.size() && !done() && !failed()) {
    if (inData()) {
      const uint64_t take = std::min<uint64_t>(remaining_, data.size() - i);
      skipData(take);
      i += static_cast<size_t>(take);
      continue;
    }
    i += scanFraming(data.substr(i));
  }
  return failed() ? 0 : i;
}

size_t ChunkedScanner::scanFraming(std::string_view data) {
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  size_t i = 0;
  while (i < data.size() && !inData() && !done() && !failed()) {
    if (!step(d[i++])) break;
  }
  return failed() ? 0 : i;
}

bool ChunkedScanner::step(unsigned char c) {
  switch (state_) {
    case State::SizeLf:
      if (c != '\n') return reject("CR not followed by LF after chunk size");
      chunk_size_ = remaining_;
      if (remaining_ > 0) {
        state_ = State::Data;
      } else {
        state_ = State::TrailerStart;
        trailer_lines_ = 0;
      }
      return true;
    case State::DataCr:
      if (c != '\r') return reject("chunk data not followed by CRLF");
      state_ = State::DataLf;
      return true;
    case State::DataLf:
      if (c != '\n') return reject("chunk data not followed by CRLF");
      state_ = State::Size;
      size_digits_ = 0;
      extension_bytes_ = 0;
      return true;
    case State::TrailerStart:
    case State::TrailerName:
    case State::TrailerValue:
    case State::TrailerLf:
    case State::FinalLf:
      return trailerByte(c);
    case State::Data:
    case State::Done:
    case State::Failed:
      return false;  // never called in these
    default:
      return sizeLineByte(c);
  }
}

bool ChunkedScanner::sizeLineByte(unsigned char c) {
  if (state_ == State::Size) {
    if (const int digit = hexValue(c); digit >= 0) {
      if (++size_digits_ > kMaxSizeDigits) return reject("chunk size too large");
      remaining_ = (remaining_ << 4) | static_cast<uint64_t>(digit);
      return true;
    }
    if (size_digits_ == 0) return reject("chunk size is not hexadecimal");
    if (c == '\n') return reject("bare LF after chunk size");
  }
  if (c == '\r') {
    // A size line ends only after the size, a name, a value or a quote.
    switch (state_) {
      case State::Size:
      case State::ExtName:
      case State::ExtToken:
      case State::AfterQuoted:
        state_ = State::SizeLf;
        return true;
      case State::ExtQuoted:
      case State::ExtQuotedPair:
        return reject("unbalanced quotes in chunk extension");
      case State::BeforeSemi:
      case State::AfterName:
        return reject("whitespace at the end of a chunk size line");
      default:
        return reject("chunk extension without a name or value");
    }
  }
  if (++extension_bytes_ > max_extension_) return reject("chunk extension too long");
  State next = State::Failed;
  const char* why = "invalid chunk extension";
  switch (state_) {
    case State::Size:
    case State::BeforeSemi:
    case State::AfterQuoted:
      if (isSpTab(c)) next = State::BeforeSemi;
      if (c == ';') next = State::ExtNameStart;
      if (state_ == State::Size) why = "invalid chunk size";
      break;
    case State::ExtNameStart:
      if (isSpTab(c)) next = State::ExtNameStart;
      if (isToken(c)) next = State::ExtName;
      why = "invalid chunk extension name";
      break;
    case State::ExtName:
    case State::AfterName:
      if (isToken(c) && state_ == State::ExtName) next = State::ExtName;
      if (isSpTab(c)) next = State::AfterName;
      if (c == '=') next = State::ExtValueStart;
      if (c == ';') next = State::ExtNameStart;
      why = "invalid chunk extension name";
      break;
    case State::ExtValueStart:
      if (isSpTab(c)) next = State::ExtValueStart;
      if (isToken(c)) next = State::ExtToken;
      if (c == '"') next = State::ExtQuoted;
      why = "invalid chunk extension value";
      break;
    case State::ExtToken:
      if (isToken(c)) next = State::ExtToken;
      if (isSpTab(c)) next = State::BeforeSemi;
      if (c == ';') next = State::ExtNameStart;
      why = "invalid chunk extension value";
      break;
    case State::ExtQuoted:
      if (isQdtext(c)) next = State::ExtQuoted;
      if (c == '"') next = State::AfterQuoted;
      if (c == '\\') next = State::ExtQuotedPair;
      why = "invalid character in a quoted chunk extension";
      break;
    case State::ExtQuotedPair:
      if (rules::is(c, rules::kFieldValue)) next = State::ExtQuoted;
      why = "invalid character in a quoted chunk extension";
      break;
    default:
      break;
  }
  if (next == State::Failed) return reject(why);
  state_ = next;
  return true;
}

bool ChunkedScanner::trailerByte(unsigned char c) {
  switch (state_) {
    case State::TrailerStart:
      if (c == '\r') {
        state_ = State::FinalLf;
        return true;
      }
      if (++trailer_lines_ > kMaxTrailerLines) return reject("too many trailer fields");
      if (isSpTab(c)) return reject("obsolete line folding in trailer");
      if (!isToken(c)) return reject("invalid trailer field name");
      trailer_line_bytes_ = 1;
      state_ = State::TrailerName;
      return true;
    case State::TrailerName:
      if (++trailer_line_bytes_ > kMaxTrailerLine) return reject("trailer field too long");
      if (c == ':') {
        state_ = State::TrailerValue;
        return true;
      }
      if (!isToken(c)) return reject("invalid trailer field name");
      return true;
    case State::TrailerValue:
      if (c == '\r') {
        state_ = State::TrailerLf;
        return true;
      }
      if (++trailer_line_bytes_ > kMaxTrailerLine) return reject("trailer field too long");
      if (!rules::is(c, rules::kFieldValue)) return reject("control character in trailer");
      return true;
    case State::TrailerLf:
      if (c != '\n') return reject("CR not followed by LF in trailer");
      state_ = State::TrailerStart;
      return true;
    case State::FinalLf:
      if (c != '\n') return reject("CR not followed by LF in trailer");
      state_ = State::Done;
      return false;  // the body ended: nothing after this byte is ours
    default:
      return false;
  }
}

}  // namespace fulcrum::http
