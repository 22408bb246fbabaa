// Strict HTTP/1.1 head parsing (RFC 9110 / 9112) for requests from clients
// and responses from servers. Pure functions over a byte span: no I/O, no
// allocation beyond the reusable `fields` vector of the output.
//
// The functions here read a head from its first byte on every call: callers
// pass everything received so far and get Incomplete until the head's final
// CRLF CRLF has arrived. Limits are enforced on partial input too, so an
// endless head is refused as soon as it passes a limit. Calling them on each
// read would cost time quadratic in the head's size when it comes in small
// pieces, so connections read heads through HeadScanner (head_scanner.h),
// which looks at each new byte once and calls them only when the head has
// ended or something in it is refused. Every string_view in an output
// points into `data` and is valid only while those bytes are (except `path`
// "/" made up for an absolute-form target without a path, which is static).
//
// What is refused, and with which status (the status a proxy answers):
//  - 400: bare CR or bare LF line endings, NUL or other control characters
//    (HTAB allowed in values), obs-fold, whitespace between a field name and
//    its colon, invalid characters in the method / field name / target, a
//    target with a fragment ('#'),
//    an HTTP version other than HTTP/1.0 or HTTP/1.1, both Content-Length and
//    Transfer-Encoding, Content-Length values that differ or are not digits
//    (or overflow), a Transfer-Encoding whose final coding is not chunked or
//    that names chunked twice or a coding that is not a token,
//    Transfer-Encoding on an HTTP/1.0 request,
//    a missing Host on HTTP/1.1, more than one Host, an absolute-form target
//    whose authority differs from Host, CONNECT and authority-form targets.
//  - 414: the request line is longer than max_request_line.
//  - 431: the head is longer than max_head_bytes, or has more than
//    max_fields fields.
//  - 501: a transfer coding other than chunked before the final chunked
//    ("gzip, chunked").
// Identical Content-Length values ("5, 5", or two fields) are one length;
// the head writer then sends one field. Methods are not judged here
// (TRACE is a routing decision).
// For responses every refusal is reported as status 502 (the server sent
// something a client must not see); a response may carry codings other
// than chunked (passed on by name), and one whose final coding is not
// chunked is read until the server closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/ascii_case.h"

namespace fulcrum::http {

struct Limits {
  size_t max_request_line = size_t{8} * 1024;  // method SP target SP version, without CRLF
  size_t max_head_bytes = size_t{32} * 1024;   // the whole head, start line to final CRLF CRLF
  size_t max_fields = 100;
  size_t max_chunk_extension = 1024;  // bytes after the chunk size, per chunk line
};

struct Field {
  std::string_view name;   // as sent (case kept); compare case-insensitively
  std::string_view value;  // leading and trailing SP/HTAB removed
};

// How the body after a head is delimited (RFC 9112 section 6).
enum class Framing {
  None,           // no body
  ContentLength,  // exactly content_length bytes
  Chunked,        // chunked transfer coding (use ChunkedScanner)
  UntilClose,     // responses only: the body ends when the server closes
};

struct Head {
  int minor_version = 1;      // HTTP/1.<minor_version>, 0 or 1
  std::vector<Field> fields;  // in order received; cleared by each parse
  size_t length = 0;          // bytes of the head, including the final CRLF CRLF
  Framing framing = Framing::None;
  uint64_t content_length = 0;  // when framing == ContentLength
  // After this message the connection closes: "Connection: close", or
  // HTTP/1.0 without "Connection: keep-alive".
  bool close = false;
  // The "Connection" header's tokens, lower-cased by the caller's compare;
  // each names a hop-by-hop field to drop (views into data).
  std::vector<std::string_view> connection_tokens;
  // "Connection: upgrade" together with an "Upgrade" field.
  bool upgrade = false;
};

struct RequestHead : Head {
  std::string_view method;
  std::string_view target;       // as sent
  std::string_view path;         // origin-form to forward: "/a?b" (from absolute-form too), or "*"
  std::string_view host;         // the Host field (or the authority of an absolute-form target)
  bool expect_continue = false;  // "Expect: 100-continue"
  bool is_head = false;          // method is HEAD
};

struct ResponseHead : Head {
  int status = 0;           // 100..599
  std::string_view reason;  // may be empty
};

enum class ParseResult { Complete, Incomplete, Error };

struct ParseError {
  int status = 400;         // 400, 414, 431 or 501 for requests; 502 for responses
  const char* reason = "";  // short, static, for logs and error bodies
};

ParseResult parseRequest(std::string_view data, const Limits& limits, RequestHead& out,
                         ParseError& error);

// `request_was_head` and the status decide framing: HEAD responses, 1xx,
// 204 and 304 have no body; otherwise chunked, Content-Length, or until
// close. A response with both Content-Length and Transfer-Encoding is refused.
ParseResult parseResponse(std::string_view data, const Limits& limits, bool request_was_head,
                          ResponseHead& out, ParseError& error);

// One field line (name ":" value CRLF, through its LF) judged as the parse
// functions judge it, its meaning aside: Complete, Incomplete without its
// CRLF, or Error (status 400, or 502 for a `response`). HeadScanner checks
// each line with it once, when the line ends.
ParseResult checkFieldLine(std::string_view line, bool response, ParseError& error);

// ASCII case-insensitive equality, for field names and tokens (inline,
// eight bytes at a time: core/ascii_case.h).
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return core::equalsIgnoreCase(a, b);
}

}  // namespace fulcrum::http
