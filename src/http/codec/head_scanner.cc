// The scan is one loop over new bytes that stops only at the few bytes that
// matter: LF ends a line, CR must be followed by LF, and every other
// control character (HTAB aside) and DEL is refused wherever it stands, so
// the parser is called at once to say how. The bytes between are passed
// over in blocks (core/field_value_scan.h), so a head read in one piece
// costs the loop and one parse. Line checks run only for lines that ended
// while the head did not: a head that arrives whole never pays for them.
#include "http/codec/head_scanner.h"

#include <algorithm>
#include <cstring>

#include "core/field_value_scan.h"

namespace fulcrum::http {
namespace {

bool isSpTab(unsigned char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

ParseResult HeadScanner::parseRequest(std::string_view data, const Limits& limits, RequestHead& out,
                                      ParseError& error) {
  auto parse = [&](std::string_view bytes) {
    return http::parseRequest(bytes, limits, out, error);
  };
  return scan(data, limits, false, parse, error);
}

ParseResult HeadScanner::parseResponse(std::string_view data, const Limits& limits,
                                       bool request_was_head, ResponseHead& out,
                                       ParseError& error) {
  auto parse = [&](std::string_view bytes) {
    return http::parseResponse(bytes, limits, request_was_head, out, error);
  };
  return scan(data, limits, true, parse, error);
}

void HeadScanner::reset() {
  scanned_ = line_start_ = start_begin_ = start_end_ = 0;
  start_seen_ = start_prechecked_ = false;
  fields_seen_ = checked_ = fields_checked_ = 0;
}

// The strict parse of the first `length` bytes of `data`. Its answer
// stands unless it is Incomplete, which a scan stop never expects: the
// scan then goes on as if it had not stopped.
template <typename Parse>
ParseResult HeadScanner::judge(std::string_view data, size_t length, const Limits& limits,
                               Parse&& parse) {
  examined_ += std::min(length, limits.max_head_bytes);
  const ParseResult result = parse(data.substr(0, length));
  if (result != ParseResult::Incomplete) reset();
  return result;
}

template <typename Parse>
ParseResult HeadScanner::scan(std::string_view data, const Limits& limits, bool response,
                              Parse&& parse, ParseError& error) {
  if (data.size() < scanned_) reset();
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  // Bytes past the limit are never part of a head: the parse refuses a
  // head that has not ended within it.
  const size_t n = std::min(data.size(), limits.max_head_bytes);
  for (size_t i = scanned_; i < n; ++i) {
    const bool after_cr = i > 0 && d[i - 1] == '\r';
    // Ordinary bytes are passed over in blocks. The byte after a CR is
    // looked at whatever it is; a skip never lands after one, as a CR is
    // notable itself.
    if (!after_cr) {
      i = core::http_chars::fieldValueEnd(d, i, n);
      if (i == n) break;
    }
    const unsigned char c = d[i];
    examined_ += i + 1 - scanned_;
    scanned_ = i + 1;
    // Refused here: CR without LF, LF without CR, a control character.
    const bool refused =
        (after_cr && c != '\n') || (c == '\n' && !after_cr) || (c != '\n' && c != '\r');
    if (refused) {
      if (ParseResult r = judge(data, i + 1, limits, parse); r != ParseResult::Incomplete) return r;
      continue;
    }
    if (c == '\r') continue;
    // A line ended at i.
    const bool empty = i == line_start_ + 1;
    if (!start_seen_) {
      // Empty lines before a request line are skipped (RFC 9112 section 2.2).
      if (response || !empty) {
        start_seen_ = true;
        start_begin_ = line_start_;
        start_end_ = i + 1;
        checked_ = line_start_;
      }
    } else if (empty) {
      if (ParseResult r = judge(data, i + 1, limits, parse); r != ParseResult::Incomplete) return r;
    } else {
      ++fields_seen_;
    }
    line_start_ = i + 1;
  }
  examined_ += n - scanned_;  // scanned_ <= n: it was reset if data shrank
  scanned_ = n;
  if (data.size() > limits.max_head_bytes) return judge(data, data.size(), limits, parse);
  if (ParseResult r = checkEndedLines(data, limits, response, parse, error);
      r != ParseResult::Incomplete) {
    return r;
  }
  // The line still arriving: refusals its first bytes already decide.
  if (line_start_ >= n) return ParseResult::Incomplete;
  const unsigned char first = d[line_start_];
  if (start_seen_) {
    if (isSpTab(first) || (fields_seen_ >= limits.max_fields && first != '\r')) {
      return judge(data, line_start_ + 1, limits, parse);
    }
  } else if (!response && !start_prechecked_ && n - line_start_ > limits.max_request_line) {
    // Refused (414) unless a whole request line ends with the CR at the
    // limit, which only a parse of the line can tell. When it does, the
    // next byte ends the line (or is refused), and the line is not parsed
    // again then.
    examined_ += n - line_start_;
    const ParseResult result = parse(data.substr(line_start_, n - line_start_));
    if (result != ParseResult::Incomplete)
      reset();
    else
      start_prechecked_ = true;
    return result;
  }
  return ParseResult::Incomplete;
}

// Lines that ended while the head did not, each checked once: the start
// line parsed alone, field lines by checkFieldLine.
template <typename Parse>
ParseResult HeadScanner::checkEndedLines(std::string_view data, const Limits& limits, bool response,
                                         Parse&& parse, ParseError& error) {
  if (!start_seen_) return ParseResult::Incomplete;
  if (checked_ < start_end_) {
    if (!start_prechecked_) {
      const size_t length = start_end_ - start_begin_;
      examined_ += length;
      const ParseResult result = parse(data.substr(start_begin_, length));
      if (result != ParseResult::Incomplete) {
        reset();
        return result;  // Error: a start line alone is never a whole head
      }
    }
    checked_ = start_end_;
  }
  while (checked_ < line_start_) {
    // One field too many is refused at its first byte (431), as the parse does.
    if (fields_checked_ >= limits.max_fields) return judge(data, checked_ + 1, limits, parse);
    const char* begin = data.data() + checked_;
    const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', line_start_ - checked_));
    const size_t length = static_cast<size_t>(lf - begin) + 1;
    examined_ += length;
    if (checkFieldLine(data.substr(checked_, length), response, error) == ParseResult::Error) {
      reset();
      return ParseResult::Error;
    }
    ++fields_checked_;
    checked_ += length;
  }
  return ParseResult::Incomplete;
}

}  // namespace fulcrum::http
