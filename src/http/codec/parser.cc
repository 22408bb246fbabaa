// One pass over the head's bytes from its first byte (as picohttpparser
// does), which keeps the parser free of state between reads; HeadScanner
// (head_scanner.h) decides when a pass is worth making, so a head that
// arrives in many pieces still costs linear time. Field semantics live in
// field_rules.
#include "http/codec/parser.h"

#include <algorithm>

#include "core/field_value_scan.h"
#include "http/codec/field_rules.h"

namespace fulcrum::http {
namespace {

using rules::FieldFacts;

bool isSpTab(unsigned char c) {
  return c == ' ' || c == '\t';
}

// The bytes that may belong to the head: at most max_head_bytes. A head not
// ended within them is refused whatever follows.
struct Input {
  const unsigned char* d;
  size_t n;
  bool over_limit;  // more bytes were received than a head may have
  bool response;    // every refusal of a response is a 502
  ParseError& error;

  ParseResult fail(int status, const char* reason) const {
    error.status = response ? 502 : status;
    error.reason = reason;
    return ParseResult::Error;
  }
  // The bytes ran out before the head ended.
  ParseResult needMore() const {
    return over_limit ? fail(431, "head too large") : ParseResult::Incomplete;
  }
  std::string_view view(size_t begin, size_t end) const {
    return {reinterpret_cast<const char*>(d) + begin, end - begin};
  }
  // Expects CR LF at `pos` and moves past it.
  ParseResult lineEnd(size_t& pos) const {
    if (pos >= n) return needMore();
    if (d[pos] != '\r') return fail(400, d[pos] == '\n' ? "bare LF" : "invalid character");
    if (pos + 1 >= n) return needMore();
    if (d[pos + 1] != '\n') return fail(400, "CR not followed by LF");
    pos += 2;
    return ParseResult::Complete;
  }
};

Input makeInput(std::string_view data, const Limits& limits, bool response, ParseError& error) {
  const size_t n = std::min(data.size(), limits.max_head_bytes);
  return {reinterpret_cast<const unsigned char*>(data.data()), n, data.size() > n, response, error};
}

// Field slots a head gets at once: most heads have fewer fields, and a
// vector grown one doubling at a time cost four allocations per head.
constexpr size_t kUsualFields = 16;

void resetHead(Head& head) {
  head.minor_version = 1;
  head.fields.clear();
  head.fields.reserve(kUsualFields);
  head.length = 0;
  head.framing = Framing::None;
  head.content_length = 0;
  head.close = false;
  head.connection_tokens.clear();
  head.upgrade = false;
}

// "HTTP/1.0" or "HTTP/1.1" at `pos`, stopping (with Incomplete) at `stop`.
// Returns Complete when read, Incomplete when `stop` came first.
ParseResult readVersion(const Input& in, size_t& pos, size_t stop, int& minor) {
  static constexpr std::string_view kPrefix = "HTTP/1.";
  for (char expected : kPrefix) {
    if (pos == stop) return ParseResult::Incomplete;
    if (in.d[pos] != static_cast<unsigned char>(expected)) {
      return in.fail(400, "unsupported HTTP version");
    }
    ++pos;
  }
  if (pos == stop) return ParseResult::Incomplete;
  if (in.d[pos] != '0' && in.d[pos] != '1') return in.fail(400, "unsupported HTTP version");
  minor = in.d[pos++] - '0';
  return ParseResult::Complete;
}

ParseResult readRequestLine(const Input& in, const Limits& limits, size_t& pos, RequestHead& out) {
  const unsigned char* d = in.d;
  // RFC 9112 section 2.2: ignore empty lines before the request line (some
  // clients send CRLF after a body).
  while (pos < in.n && d[pos] == '\r') {
    if (ParseResult r = in.lineEnd(pos); r != ParseResult::Complete) return r;
  }
  const size_t start = pos;
  // The line's bytes end at `stop`; only its CR may sit at start + max_request_line.
  const size_t stop = start + std::min(limits.max_request_line, in.n - start);
  auto pastStop = [&] {
    return stop < in.n ? in.fail(414, "request line too long") : in.needMore();
  };

  size_t p = start;
  while (p < stop && rules::is(d[p], rules::kTchar)) ++p;
  if (p == stop) return pastStop();
  if (d[p] != ' ' || p == start) return in.fail(400, "invalid method");
  out.method = in.view(start, p);

  const size_t target = ++p;
  while (p < stop && rules::is(d[p], rules::kVchar)) ++p;
  if (p == stop) return pastStop();
  if (d[p] != ' ' || p == target) return in.fail(400, "invalid request target");
  out.target = in.view(target, p);
  // A fragment is the client's own business (RFC 9110 section 7.1): one
  // sent anyway is a target that servers would split differently.
  if (out.target.find('#') != std::string_view::npos) {
    return in.fail(400, "fragment in request target");
  }

  ++p;
  const ParseResult version = readVersion(in, p, stop, out.minor_version);
  if (version == ParseResult::Incomplete) return pastStop();
  if (version == ParseResult::Error) return version;
  pos = p;
  return in.lineEnd(pos);
}

ParseResult readStatusLine(const Input& in, size_t& pos, ResponseHead& out) {
  const unsigned char* d = in.d;
  size_t p = pos;
  const ParseResult version = readVersion(in, p, in.n, out.minor_version);
  if (version != ParseResult::Complete) {
    return version == ParseResult::Incomplete ? in.needMore() : version;
  }
  if (p >= in.n) return in.needMore();
  if (d[p] != ' ') return in.fail(502, "invalid status line");
  ++p;
  int status = 0;
  for (int i = 0; i < 3; ++i, ++p) {
    if (p >= in.n) return in.needMore();
    if (d[p] < '0' || d[p] > '9') return in.fail(502, "invalid status code");
    status = status * 10 + (d[p] - '0');
  }
  if (status < 100 || status > 599) return in.fail(502, "invalid status code");
  out.status = status;
  // The SP before the reason is required by RFC 9112, but "HTTP/1.1 200"
  // with nothing after the code is common enough to accept.
  if (p >= in.n) return in.needMore();
  if (d[p] == ' ') {
    const size_t reason = ++p;
    p = core::http_chars::fieldValueEnd(d, p, in.n);
    out.reason = in.view(reason, p);
  }
  pos = p;
  return in.lineEnd(pos);
}

// One field line at `pos`, through its CRLF: name ":" OWS value OWS CRLF.
// Its first byte is there and is none of CR, LF, SP and HTAB.
ParseResult readFieldLine(const Input& in, size_t& pos, Field& field) {
  const unsigned char* d = in.d;
  const size_t n = in.n;
  const size_t name = pos;
  while (pos < n && rules::is(d[pos], rules::kTchar)) ++pos;
  if (pos >= n) return in.needMore();
  if (d[pos] != ':') {
    return in.fail(400, isSpTab(d[pos]) ? "whitespace before colon" : "invalid field name");
  }
  if (pos == name) return in.fail(400, "empty field name");
  const size_t name_end = pos++;

  while (pos < n && isSpTab(d[pos])) ++pos;
  const size_t value = pos;
  pos = core::http_chars::fieldValueEnd(d, pos, n);
  size_t value_end = pos;
  while (value_end > value && isSpTab(d[value_end - 1])) --value_end;
  if (pos < n && d[pos] != '\r' && d[pos] != '\n') {
    return in.fail(400, "control character in field value");
  }
  if (ParseResult r = in.lineEnd(pos); r != ParseResult::Complete) return r;
  field = {in.view(name, name_end), in.view(value, value_end)};
  return ParseResult::Complete;
}

// Field lines up to and including the empty line that ends the head.
ParseResult readFields(const Input& in, size_t pos, size_t max_fields, Head& out,
                       FieldFacts& facts) {
  for (;;) {
    if (pos >= in.n) return in.needMore();
    const unsigned char first = in.d[pos];
    if (first == '\r' || first == '\n') {
      if (ParseResult r = in.lineEnd(pos); r != ParseResult::Complete) return r;
      out.length = pos;
      return ParseResult::Complete;
    }
    if (isSpTab(first)) return in.fail(400, "obsolete line folding");
    if (out.fields.size() >= max_fields) return in.fail(431, "too many fields");
    Field field;
    if (ParseResult r = readFieldLine(in, pos, field); r != ParseResult::Complete) return r;
    out.fields.push_back(field);
    rules::noteField(out.fields.back(), facts, out.connection_tokens);
  }
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Target form (RFC 9112 section 3.2), Host, framing and connection of a
// request whose bytes are all valid.
ParseResult finishRequest(const Input& in, const FieldFacts& facts, RequestHead& out) {
  if (out.method == "CONNECT") return in.fail(400, "CONNECT is not supported");
  if (facts.host_count > 1) return in.fail(400, "more than one Host");
  if (out.minor_version == 1 && (facts.host_count == 0 || facts.host.empty())) {
    return in.fail(400, "missing Host");
  }
  if (!rules::isValidHost(facts.host)) return in.fail(400, "invalid Host");
  out.host = facts.host;

  const std::string_view target = out.target;
  if (target.front() == '/') {
    out.path = target;
  } else if (target == "*") {
    if (out.method != "OPTIONS") return in.fail(400, "asterisk-form target without OPTIONS");
    out.path = target;
  } else {
    size_t scheme = 0;
    if (startsWithIgnoreCase(target, "http://")) {
      scheme = 7;
    } else if (startsWithIgnoreCase(target, "https://")) {
      scheme = 8;
    } else {
      return in.fail(400, "invalid request target");
    }
    const size_t slash = target.find('/', scheme);
    const std::string_view authority = target.substr(scheme, slash - scheme);
    if (authority.empty() || !rules::isValidHost(authority)) {
      return in.fail(400, "invalid authority in request target");
    }
    if (facts.host_count == 1 && !equalsIgnoreCase(authority, facts.host)) {
      return in.fail(400, "request target authority differs from Host");
    }
    out.host = authority;
    // The one view not into the input: a static "/" for "http://host".
    out.path = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }

  if (facts.has_transfer_encoding) {
    if (out.minor_version == 0) return in.fail(400, "Transfer-Encoding on HTTP/1.0");
    if (facts.has_content_length || facts.content_length_error != nullptr) {
      return in.fail(400, "both Content-Length and Transfer-Encoding");
    }
    if (facts.chunked_count != 1 || !facts.chunked_last) {
      return in.fail(400, "Transfer-Encoding must end with chunked, once");
    }
    if (facts.invalid_coding) return in.fail(400, "invalid transfer coding");
    // RFC 9112 section 6.1: a coding the proxy cannot undo is 501. Only
    // chunked is re-framed; anything else would reach the server unchecked.
    if (facts.other_coding) return in.fail(501, "transfer coding other than chunked");
    out.framing = Framing::Chunked;
  } else if (facts.content_length_error != nullptr) {
    return in.fail(400, facts.content_length_error);
  } else if (facts.has_content_length) {
    out.framing = Framing::ContentLength;
    out.content_length = facts.content_length;
  }

  out.close = facts.token_close || (out.minor_version == 0 && !facts.token_keep_alive);
  out.upgrade = facts.token_upgrade && facts.has_upgrade;
  out.expect_continue = facts.expect_continue;
  out.is_head = out.method == "HEAD";
  return ParseResult::Complete;
}

ParseResult finishResponse(const Input& in, const FieldFacts& facts, bool request_was_head,
                           ResponseHead& out) {
  const bool bodiless =
      request_was_head || out.status < 200 || out.status == 204 || out.status == 304;
  // A bodiless response's Content-Length and Transfer-Encoding describe
  // another message (RFC 9112 section 6.3), so they are not judged.
  if (!bodiless && facts.has_transfer_encoding) {
    if (out.minor_version == 0) return in.fail(502, "Transfer-Encoding on HTTP/1.0");
    if (facts.has_content_length || facts.content_length_error != nullptr) {
      return in.fail(502, "both Content-Length and Transfer-Encoding");
    }
    if (facts.chunked_count > 1) return in.fail(502, "chunked named twice");
    if (facts.invalid_coding) return in.fail(502, "invalid transfer coding");
    out.framing = facts.chunked_last ? Framing::Chunked : Framing::UntilClose;
  } else if (!bodiless && facts.content_length_error != nullptr) {
    return in.fail(502, facts.content_length_error);
  } else if (!bodiless && facts.has_content_length) {
    out.framing = Framing::ContentLength;
    out.content_length = facts.content_length;
  } else if (!bodiless) {
    out.framing = Framing::UntilClose;
  }
  out.close = facts.token_close || (out.minor_version == 0 && !facts.token_keep_alive) ||
              out.framing == Framing::UntilClose;
  out.upgrade = facts.token_upgrade && facts.has_upgrade;
  return ParseResult::Complete;
}

}  // namespace

ParseResult parseRequest(std::string_view data, const Limits& limits, RequestHead& out,
                         ParseError& error) {
  resetHead(out);
  out.method = out.target = out.path = out.host = {};
  out.expect_continue = out.is_head = false;
  const Input in = makeInput(data, limits, false, error);
  size_t pos = 0;
  if (ParseResult r = readRequestLine(in, limits, pos, out); r != ParseResult::Complete) return r;
  FieldFacts facts;
  if (ParseResult r = readFields(in, pos, limits.max_fields, out, facts);
      r != ParseResult::Complete) {
    return r;
  }
  return finishRequest(in, facts, out);
}

ParseResult parseResponse(std::string_view data, const Limits& limits, bool request_was_head,
                          ResponseHead& out, ParseError& error) {
  resetHead(out);
  out.status = 0;
  out.reason = {};
  const Input in = makeInput(data, limits, true, error);
  size_t pos = 0;
  if (ParseResult r = readStatusLine(in, pos, out); r != ParseResult::Complete) return r;
  FieldFacts facts;
  if (ParseResult r = readFields(in, pos, limits.max_fields, out, facts);
      r != ParseResult::Complete) {
    return r;
  }
  return finishResponse(in, facts, request_was_head, out);
}

ParseResult checkFieldLine(std::string_view line, bool response, ParseError& error) {
  if (line.empty()) return ParseResult::Incomplete;
  Limits whole;
  whole.max_head_bytes = line.size();
  const Input in = makeInput(line, whole, response, error);
  size_t pos = 0;
  if (in.d[0] == '\r' || in.d[0] == '\n') return in.fail(400, "not a field line");
  if (isSpTab(in.d[0])) return in.fail(400, "obsolete line folding");
  Field field;
  const ParseResult result = readFieldLine(in, pos, field);
  if (result == ParseResult::Complete && pos != line.size()) {
    return in.fail(400, "bytes after a field line");
  }
  return result;
}

}  // namespace fulcrum::http
