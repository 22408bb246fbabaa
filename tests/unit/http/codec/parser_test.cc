// Requests: what parseRequest accepts, and the status of each refusal.
// Responses are in response_parser_test.cc, limits and restarts in
// parser_limits_test.cc.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/codec/parser.h"

using namespace fulcrum::http;
using namespace std::string_literals;

namespace {

// Keeps the bytes its head's views point into; never copied or moved.
struct Parsed {
  explicit Parsed(std::string_view bytes) : data(bytes) {
    result = parseRequest(data, {}, head, error);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  const std::string data;
  ParseResult result;
  RequestHead head;
  ParseError error;
};

Parsed parse(std::string_view data) {
  return Parsed(data);
}

// The head of a request: the start line, then `fields` lines, then CRLF.
std::string request(std::string_view start, std::string_view fields = "Host: a.example\r\n") {
  return std::string(start) + "\r\n" + std::string(fields) + "\r\n";
}

// The status of a refused request; fails the test if it was not refused.
int refusal(std::string_view data) {
  const Parsed parsed = parse(data);
  REQUIRE(parsed.result == ParseResult::Error);
  CHECK(parsed.error.reason[0] != '\0');
  return parsed.error.status;
}

int refusedFields(std::string_view fields) {
  return refusal(request("GET / HTTP/1.1", "Host: a.example\r\n"s + std::string(fields)));
}

}  // namespace

TEST_CASE("http request: a simple GET is parsed into its parts") {
  const std::string data = request("GET /pay?id=7 HTTP/1.1", "Host: a.example\r\nAccept: */*\r\n");
  const Parsed parsed = parse(data);
  REQUIRE(parsed.result == ParseResult::Complete);
  const RequestHead& head = parsed.head;
  CHECK(head.method == "GET");
  CHECK(head.target == "/pay?id=7");
  CHECK(head.path == "/pay?id=7");
  CHECK(head.host == "a.example");
  CHECK(head.minor_version == 1);
  CHECK(head.length == data.size());
  REQUIRE(head.fields.size() == 2);
  CHECK(head.fields[1].name == "Accept");
  CHECK(head.fields[1].value == "*/*");
  CHECK(head.framing == Framing::None);
  CHECK_FALSE(head.close);
  CHECK_FALSE(head.is_head);
  CHECK_FALSE(head.expect_continue);
  CHECK_FALSE(head.upgrade);
}

TEST_CASE("http request: field values are trimmed and keep inner tabs and obs-text") {
  const Parsed parsed = parse(request(
      "GET / HTTP/1.1", "Host: a.example\r\nX-A: \t one\ttwo \t\r\nX-B:\r\nX-C: caf\xC3\xA9\r\n"));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.fields[1].value == "one\ttwo");
  CHECK(parsed.head.fields[2].value.empty());
  CHECK(parsed.head.fields[3].value == "caf\xC3\xA9");
}

TEST_CASE("http request: an absolute-form target becomes its path, its authority the host") {
  const Parsed parsed =
      parse(request("GET http://A.Example:8080/pay?x=1 HTTP/1.1", "Host: a.example:8080\r\n"));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.path == "/pay?x=1");
  CHECK(parsed.head.host == "A.Example:8080");
  CHECK(parsed.head.target == "http://A.Example:8080/pay?x=1");

  const Parsed bare = parse(request("GET HTTPS://a.example HTTP/1.1"));
  REQUIRE(bare.result == ParseResult::Complete);
  CHECK(bare.head.path == "/");
  CHECK(bare.head.host == "a.example");
}

TEST_CASE("http request: HTTP/1.0 absolute-form without Host takes the host from the target") {
  const Parsed parsed = parse(request("GET http://a.example/x HTTP/1.0", ""));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.host == "a.example");
  CHECK(parsed.head.path == "/x");
}

TEST_CASE("http request: HTTP/1.0 requests may omit Host or leave it empty") {
  CHECK(parse(request("GET / HTTP/1.0", "")).result == ParseResult::Complete);
  const Parsed empty = parse(request("GET / HTTP/1.0", "Host:\r\n"));
  REQUIRE(empty.result == ParseResult::Complete);
  CHECK(empty.head.host.empty());
  CHECK(empty.head.minor_version == 0);
}

TEST_CASE("http request: OPTIONS accepts the asterisk-form target") {
  const Parsed parsed = parse(request("OPTIONS * HTTP/1.1"));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.path == "*");
}

TEST_CASE("http request: bytes after the head are not part of it") {
  const std::string head = request("POST /pay HTTP/1.1", "Host: a\r\nContent-Length: 5\r\n");
  const Parsed parsed = parse(head + "hello" + request("GET /next HTTP/1.1"));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.length == head.size());
  CHECK(parsed.head.framing == Framing::ContentLength);
  CHECK(parsed.head.content_length == 5);
}

TEST_CASE("http request: empty lines before the request line are skipped") {
  const std::string data = "\r\n\r\n" + request("GET / HTTP/1.1");
  const Parsed parsed = parse(data);
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.method == "GET");
  CHECK(parsed.head.length == data.size());
}

TEST_CASE("http request: a request's framing follows Content-Length or a final chunked coding") {
  const Parsed cl = parse(
      request("POST / HTTP/1.1", "Host: a\r\nContent-Length: 42, 42\r\ncontent-length: 42\r\n"));
  REQUIRE(cl.result == ParseResult::Complete);
  CHECK(cl.head.framing == Framing::ContentLength);
  CHECK(cl.head.content_length == 42);

  const Parsed max =
      parse(request("POST / HTTP/1.1", "Host: a\r\nContent-Length: 18446744073709551615\r\n"));
  REQUIRE(max.result == ParseResult::Complete);
  CHECK(max.head.content_length == 18446744073709551615ULL);

  for (const char* te : {"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: Chunked\r\n",
                         "Transfer-Encoding: ,\r\nTransfer-Encoding: ,chunked\r\n"}) {
    CAPTURE(te);
    const Parsed chunked = parse(request("POST / HTTP/1.1", "Host: a\r\n"s + te));
    REQUIRE(chunked.result == ParseResult::Complete);
    CHECK(chunked.head.framing == Framing::Chunked);
  }
}

TEST_CASE("http request: 1.1 keeps the connection unless told to close, 1.0 closes unless kept") {
  CHECK_FALSE(parse(request("GET / HTTP/1.1")).head.close);
  CHECK(parse(request("GET / HTTP/1.1", "Host: a\r\nConnection: Close\r\n")).head.close);
  CHECK(parse(request("GET / HTTP/1.0", "")).head.close);
  CHECK_FALSE(parse(request("GET / HTTP/1.0", "Connection: Keep-Alive\r\n")).head.close);
  CHECK(parse(request("GET / HTTP/1.0", "Connection: keep-alive, close\r\n")).head.close);
}

TEST_CASE("http request: Connection tokens are collected from every Connection field") {
  const Parsed parsed =
      parse(request("GET / HTTP/1.1",
                    "Host: a\r\nConnection: keep-alive , X-Trace,\r\nConnection:\tx-debug\r\n"));
  REQUIRE(parsed.result == ParseResult::Complete);
  const std::vector<std::string_view> expected{"keep-alive", "X-Trace", "x-debug"};
  CHECK(parsed.head.connection_tokens == expected);
  CHECK_FALSE(parsed.head.close);
}

TEST_CASE("http request: an upgrade needs both the Connection token and the Upgrade field") {
  CHECK(parse(request("GET / HTTP/1.1", "Host: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"))
            .head.upgrade);
  CHECK_FALSE(parse(request("GET / HTTP/1.1", "Host: a\r\nConnection: upgrade\r\n")).head.upgrade);
  CHECK_FALSE(parse(request("GET / HTTP/1.1", "Host: a\r\nUpgrade: websocket\r\n")).head.upgrade);
}

TEST_CASE("http request: Expect: 100-continue is recognised, other values are left to the caller") {
  CHECK(
      parse(request("POST / HTTP/1.1", "Host: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n"))
          .head.expect_continue);
  const Parsed other = parse(request("POST / HTTP/1.1", "Host: a\r\nExpect: 200-ok\r\n"));
  REQUIRE(other.result == ParseResult::Complete);
  CHECK_FALSE(other.head.expect_continue);
}

TEST_CASE("http request: a HEAD request is marked") {
  CHECK(parse(request("HEAD / HTTP/1.1")).head.is_head);
  CHECK_FALSE(parse(request("head / HTTP/1.1")).head.is_head);
}

TEST_CASE("http request: a parse starts afresh, keeping nothing of the previous head") {
  RequestHead head;
  ParseError error;
  const std::string first =
      request("GET / HTTP/1.0", "Host: a\r\nConnection: x\r\nContent-Length: 3\r\n");
  REQUIRE(parseRequest(first, {}, head, error) == ParseResult::Complete);
  const std::string second = request("GET / HTTP/1.1");
  REQUIRE(parseRequest(second, {}, head, error) == ParseResult::Complete);
  CHECK(head.fields.size() == 1);
  CHECK(head.connection_tokens.empty());
  CHECK(head.framing == Framing::None);
  CHECK(head.minor_version == 1);
  CHECK_FALSE(head.close);
}

// Refusals, one per rule.

TEST_CASE("http request: a bare LF ending the request line is refused with 400") {
  CHECK(refusal("GET / HTTP/1.1\nHost: a\r\n\r\n") == 400);
}
TEST_CASE("http request: a bare LF ending a field line is refused with 400") {
  CHECK(refusedFields("X-A: 1\n") == 400);
}
TEST_CASE("http request: a bare LF as the final line is refused with 400") {
  CHECK(refusedFields("\n") == 400);
}
TEST_CASE("http request: a CR not followed by LF is refused with 400") {
  CHECK(refusedFields("X-A: 1\rX-B: 2\r\n") == 400);
  CHECK(refusal("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);
}
TEST_CASE("http request: a NUL in a field value is refused with 400") {
  CHECK(refusedFields("X-A: a\0b\r\n"s) == 400);
}
TEST_CASE("http request: a control character in a field value is refused with 400") {
  CHECK(refusedFields("X-A: a\x01z\r\n") == 400);
  CHECK(refusedFields("X-A: a\x7Fz\r\n") == 400);
}
TEST_CASE("http request: obs-fold is refused with 400") {
  CHECK(refusedFields("X-A: 1\r\n  continued\r\n") == 400);
  CHECK(refusal("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n") == 400);
}
TEST_CASE("http request: whitespace between a field name and its colon is refused with 400") {
  CHECK(refusedFields("X-A : 1\r\n") == 400);
  CHECK(refusedFields("Content-Length\t: 1\r\n") == 400);
}
TEST_CASE("http request: an invalid character in a field name is refused with 400") {
  CHECK(refusedFields("X(A): 1\r\n") == 400);
  CHECK(refusedFields("X-A\r\n") == 400);
}
TEST_CASE("http request: an empty field name is refused with 400") {
  CHECK(refusedFields(": 1\r\n") == 400);
}
TEST_CASE("http request: an invalid character in the method is refused with 400") {
  CHECK(refusal(request("GE(T / HTTP/1.1")) == 400);
  CHECK(refusal(request(" GET / HTTP/1.1")) == 400);
}
TEST_CASE("http request: a target with bytes outside visible ASCII is refused with 400") {
  CHECK(refusal(request("GET /caf\xC3\xA9 HTTP/1.1")) == 400);
  CHECK(refusal(request("GET /a\tb HTTP/1.1")) == 400);
  CHECK(refusal(request("GET /a\0b HTTP/1.1"s)) == 400);
}
TEST_CASE("http request: more than one SP between request line parts is refused with 400") {
  CHECK(refusal(request("GET  / HTTP/1.1")) == 400);
  CHECK(refusal(request("GET /  HTTP/1.1")) == 400);
  CHECK(refusal(request("GET / HTTP/1.1 ")) == 400);
}
TEST_CASE("http request: an HTTP version other than 1.0 or 1.1 is refused with 400") {
  for (const char* line : {"GET / HTTP/2.0", "GET / HTTP/1.2", "GET / http/1.1", "GET / HTTP/1.10",
                           "GET / HTTP/1", "GET /"}) {
    CAPTURE(line);
    CHECK(refusal(request(line)) == 400);
  }
}
TEST_CASE("http request: both Content-Length and Transfer-Encoding are refused with 400") {
  CHECK(refusedFields("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") == 400);
}
TEST_CASE("http request: differing Content-Length values are refused with 400") {
  CHECK(refusedFields("Content-Length: 5\r\nContent-Length: 6\r\n") == 400);
  CHECK(refusedFields("Content-Length: 5, 6\r\n") == 400);
}
TEST_CASE("http request: a Content-Length that is not digits is refused with 400") {
  for (const char* value : {"", "+5", "-1", "5a", "0x5", "5 5", "5,", "1.0"}) {
    CAPTURE(value);
    CHECK(refusedFields("Content-Length: "s + value + "\r\n") == 400);
  }
}
TEST_CASE("http request: a Content-Length beyond 64 bits is refused with 400") {
  CHECK(refusedFields("Content-Length: 18446744073709551616\r\n") == 400);
  CHECK(refusedFields("Content-Length: 99999999999999999999999\r\n") == 400);
}
TEST_CASE("http request: a final coding other than chunked is refused with 400") {
  CHECK(refusedFields("Transfer-Encoding: gzip\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding: chunked, gzip\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding:\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding: chunked;x=1\r\n") == 400);
}
TEST_CASE("http request: a coding before chunked is refused with 501, or 400 when not a token") {
  CHECK(refusedFields("Transfer-Encoding: gzip, chunked\r\n") == 501);
  CHECK(refusedFields("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") == 501);
  CHECK(refusedFields("Transfer-Encoding: identity, chunked\r\n") == 501);
  CHECK(refusedFields("Transfer-Encoding: gzip;level=1, chunked\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding: \"gzip\", chunked\r\n") == 400);
}
TEST_CASE("http request: a target with a fragment is refused with 400") {
  CHECK(refusal(request("GET /path#frag HTTP/1.1")) == 400);
  CHECK(refusal(request("GET /path?a=1# HTTP/1.1")) == 400);
  CHECK(refusal(request("GET http://a.example/p#f HTTP/1.1")) == 400);
}
TEST_CASE("http request: a Transfer-Encoding naming chunked twice is refused with 400") {
  CHECK(refusedFields("Transfer-Encoding: chunked, chunked\r\n") == 400);
  CHECK(refusedFields("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") == 400);
}
TEST_CASE("http request: Transfer-Encoding on an HTTP/1.0 request is refused with 400") {
  CHECK(refusal(request("POST / HTTP/1.0", "Transfer-Encoding: chunked\r\n")) == 400);
}
TEST_CASE("http request: an HTTP/1.1 request without Host is refused with 400") {
  CHECK(refusal(request("GET / HTTP/1.1", "")) == 400);
  CHECK(refusal(request("GET http://a/ HTTP/1.1", "")) == 400);
}
TEST_CASE("http request: an HTTP/1.1 request with an empty Host is refused with 400") {
  CHECK(refusal(request("GET / HTTP/1.1", "Host: \r\n")) == 400);
}
TEST_CASE("http request: a request with more than one Host is refused with 400") {
  CHECK(refusedFields("host: a.example\r\n") == 400);
}
TEST_CASE("http request: a Host with characters a host cannot have is refused with 400") {
  CHECK(refusal(request("GET / HTTP/1.1", "Host: a b\r\n")) == 400);
  CHECK(refusal(request("GET / HTTP/1.1", "Host: a/b\r\n")) == 400);
  CHECK(refusal(request("GET / HTTP/1.1", "Host: user@a\r\n")) == 400);
}
TEST_CASE("http request: an absolute-form authority that differs from Host is refused with 400") {
  CHECK(refusal(request("GET http://b.example/ HTTP/1.1")) == 400);
  CHECK(refusal(request("GET http://a.example:81/ HTTP/1.1")) == 400);
}
TEST_CASE("http request: an empty or invalid absolute-form authority is refused with 400") {
  CHECK(refusal(request("GET http:/// HTTP/1.0", "")) == 400);
  CHECK(refusal(request("GET http://u@a.example/ HTTP/1.1", "Host: u@a.example\r\n")) == 400);
  CHECK(refusal(request("GET http://a.example?x HTTP/1.1")) == 400);
}
TEST_CASE("http request: a target of another scheme or form is refused with 400") {
  CHECK(refusal(request("GET ftp://a.example/ HTTP/1.1")) == 400);
  CHECK(refusal(request("GET pay HTTP/1.1")) == 400);
}
TEST_CASE("http request: CONNECT and authority-form targets are refused with 400") {
  CHECK(refusal(request("CONNECT a.example:443 HTTP/1.1", "Host: a.example:443\r\n")) == 400);
  CHECK(refusal(request("GET a.example:443 HTTP/1.1")) == 400);
}
TEST_CASE("http request: the asterisk-form target without OPTIONS is refused with 400") {
  CHECK(refusal(request("GET * HTTP/1.1")) == 400);
}
