// Reads an HTTP/1 head that arrives in pieces in time linear in its size.
//
// parseRequest / parseResponse (parser.h) read a head from its first byte,
// so calling them on every read costs O(n^2) for a head sent a byte at a
// time (a 32 KB head: about 500 MB of bytes looked at). A HeadScanner
// remembers how far it has looked and looks at each new byte once, for the
// end of a line. The strict parse runs on the whole head once, when its
// final CRLF CRLF has arrived; each line is checked once (checkFieldLine,
// or a parse of the start line alone) when it ends while the head has not.
//
// Answers are those of parseRequest / parseResponse on the same bytes: the
// same result, status and reason, and `out` filled the same on Complete.
// Refusals come as early as they do there, before the head ends, for:
// bare LF, CR without LF, control characters (every byte below 0x20 except
// HTAB, and DEL), obs-fold, a request line over max_request_line, a field
// over max_fields, and more than max_head_bytes without the end of the head.
// Any other invalid byte (for example a space in a field name) is refused
// when its line ends. On Incomplete, `out` and `error` hold nothing useful.
//
// Contract: each call passes every byte received since the head's first
// byte (the previous call's bytes, then new ones), as the parse functions
// take them; the bytes may have moved in memory between calls. After
// Complete or Error the scanner starts over by itself, so the next call
// reads the next head (a pipelined request, or the final response after a
// 1xx). reset() starts over when the bytes of an unfinished head are thrown
// away (a retry on a new connection). A shorter `data` than last time also
// starts over. One scanner reads either requests or responses.
//
// One per connection, exchange or probe; used on its owner's loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/codec/parser.h"

namespace fulcrum::http {

class HeadScanner {
 public:
  ParseResult parseRequest(std::string_view data, const Limits& limits, RequestHead& out,
                           ParseError& error);
  ParseResult parseResponse(std::string_view data, const Limits& limits, bool request_was_head,
                            ResponseHead& out, ParseError& error);

  void reset();

  // Bytes looked at since construction, by the scan, the line checks and
  // the parses together: at most three times the bytes passed (tests and
  // the fuzzer hold it to that).
  uint64_t bytesExamined() const { return examined_; }

 private:
  template <typename Parse>
  ParseResult scan(std::string_view data, const Limits& limits, bool response, Parse&& parse,
                   ParseError& error);
  template <typename Parse>
  ParseResult checkEndedLines(std::string_view data, const Limits& limits, bool response,
                              Parse&& parse, ParseError& error);
  template <typename Parse>
  ParseResult judge(std::string_view data, size_t length, const Limits& limits, Parse&& parse);

  size_t scanned_ = 0;       // bytes of the head looked at by the scan
  size_t line_start_ = 0;    // the first byte of the line the scan is in
  bool start_seen_ = false;  // the start line has ended (empty lines before it do not count)
  size_t start_begin_ = 0;   // the start line's bytes, once it has ended
  size_t start_end_ = 0;
  bool start_prechecked_ = false;  // parsed before its LF came (at max_request_line)
  size_t fields_seen_ = 0;         // field lines that have ended
  size_t checked_ = 0;             // lines before this offset have been checked
  size_t fields_checked_ = 0;
  uint64_t examined_ = 0;
};

}  // namespace fulcrum::http
