// Responses: status line, framing by request method and status, and the
// 502 every refusal becomes.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/codec/parser.h"

using namespace fulcrum::http;
using namespace std::string_literals;

namespace {

// Keeps the bytes its head's views point into; never copied or moved.
struct Parsed {
  Parsed(std::string_view bytes, bool request_was_head) : data(bytes) {
    result = parseResponse(data, {}, request_was_head, head, error);
  }
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  const std::string data;
  ParseResult result;
  ResponseHead head;
  ParseError error;
};

Parsed parse(std::string_view data, bool request_was_head = false) {
  return Parsed(data, request_was_head);
}

std::string response(std::string_view status_line, std::string_view fields = "") {
  return std::string(status_line) + "\r\n" + std::string(fields) + "\r\n";
}

Framing framing(std::string_view data, bool request_was_head = false) {
  const Parsed parsed = parse(data, request_was_head);
  REQUIRE(parsed.result == ParseResult::Complete);
  return parsed.head.framing;
}

int refusal(std::string_view data) {
  const Parsed parsed = parse(data);
  REQUIRE(parsed.result == ParseResult::Error);
  CHECK(parsed.error.reason[0] != '\0');
  return parsed.error.status;
}

}  // namespace

TEST_CASE("http response: a response head is parsed into status, reason and fields") {
  const std::string head =
      response("HTTP/1.1 201 Created here", "Content-Length: 2\r\nX-Id: 7\r\n");
  const Parsed parsed = parse(head + "{}");
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.status == 201);
  CHECK(parsed.head.reason == "Created here");
  CHECK(parsed.head.minor_version == 1);
  CHECK(parsed.head.length == head.size());
  CHECK(parsed.head.fields.size() == 2);
  CHECK(parsed.head.framing == Framing::ContentLength);
  CHECK(parsed.head.content_length == 2);
  CHECK_FALSE(parsed.head.close);
}

TEST_CASE("http response: a status line may have an empty reason or none at all") {
  const Parsed empty = parse(response("HTTP/1.1 200 ", "Content-Length: 0\r\n"));
  REQUIRE(empty.result == ParseResult::Complete);
  CHECK(empty.head.reason.empty());
  const Parsed none = parse(response("HTTP/1.1 200", "Content-Length: 0\r\n"));
  REQUIRE(none.result == ParseResult::Complete);
  CHECK(none.head.status == 200);
  CHECK(none.head.reason.empty());
}

TEST_CASE("http response: HEAD, 1xx, 204 and 304 responses have no body despite framing fields") {
  const std::string fields = "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n";
  CHECK(framing(response("HTTP/1.1 200 OK", fields), true) == Framing::None);
  CHECK(framing(response("HTTP/1.1 100 Continue")) == Framing::None);
  CHECK(framing(response("HTTP/1.1 204 No Content", fields)) == Framing::None);
  CHECK(framing(response("HTTP/1.1 304 Not Modified", "Content-Length: x\r\n")) == Framing::None);
  CHECK_FALSE(parse(response("HTTP/1.1 204 No Content")).head.close);
}

TEST_CASE("http response: a response's framing is chunked, Content-Length, or until close") {
  CHECK(framing(response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked\r\n")) ==
        Framing::Chunked);
  CHECK(framing(response("HTTP/1.1 200 OK", "Content-Length: 0\r\n")) == Framing::ContentLength);
  const Parsed gzip = parse(response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip\r\n"));
  REQUIRE(gzip.result == ParseResult::Complete);
  CHECK(gzip.head.framing == Framing::UntilClose);
  CHECK(gzip.head.close);
  const Parsed bare = parse(response("HTTP/1.1 200 OK"));
  REQUIRE(bare.result == ParseResult::Complete);
  CHECK(bare.head.framing == Framing::UntilClose);
  CHECK(bare.head.close);
}

TEST_CASE("http response: an HTTP/1.0 response closes the connection unless it asks to keep it") {
  CHECK(parse(response("HTTP/1.0 200 OK", "Content-Length: 0\r\n")).head.close);
  const Parsed kept =
      parse(response("HTTP/1.0 200 OK", "Content-Length: 0\r\nConnection: keep-alive\r\n"));
  REQUIRE(kept.result == ParseResult::Complete);
  CHECK_FALSE(kept.head.close);
  CHECK(kept.head.minor_version == 0);
  CHECK(
      parse(response("HTTP/1.1 200 OK", "Content-Length: 0\r\nConnection: close\r\n")).head.close);
}

TEST_CASE("http response: a 101 response with Connection: upgrade and Upgrade is an upgrade") {
  const Parsed parsed = parse(response("HTTP/1.1 101 Switching Protocols",
                                       "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
  REQUIRE(parsed.result == ParseResult::Complete);
  CHECK(parsed.head.upgrade);
  CHECK(parsed.head.framing == Framing::None);
  REQUIRE(parsed.head.connection_tokens.size() == 1);
  CHECK(parsed.head.connection_tokens[0] == "Upgrade");
}

TEST_CASE("http response: a status code outside 100-599 is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 099 Low")) == 502);
  CHECK(refusal(response("HTTP/1.1 600 High")) == 502);
}
TEST_CASE("http response: a status code that is not three digits is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 20 OK")) == 502);
  CHECK(refusal(response("HTTP/1.1 2000 OK")) == 502);
  CHECK(refusal(response("HTTP/1.1 2x0 OK")) == 502);
  CHECK(refusal(response("HTTP/1.1  200 OK")) == 502);
}
TEST_CASE("http response: a response with an unsupported version is refused with 502") {
  CHECK(refusal(response("HTTP/2.0 200 OK")) == 502);
  CHECK(refusal(response("HTTP/1.1200 OK")) == 502);
  CHECK(refusal(response("ICY 200 OK")) == 502);
}
TEST_CASE("http response: a control character in the reason is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 O\x01K")) == 502);
}
TEST_CASE("http response: a bare LF in a response is refused with 502") {
  CHECK(refusal("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n") == 502);
  CHECK(refusal(response("HTTP/1.1 200 OK", "Content-Length: 0\n")) == 502);
}
TEST_CASE("http response: obs-fold in a response is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK", "X-A: 1\r\n 2\r\n")) == 502);
}
TEST_CASE("http response: whitespace before the colon in a response is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK", "Content-Length : 0\r\n")) == 502);
}
TEST_CASE("http response: both Content-Length and Transfer-Encoding are refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK",
                         "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n")) == 502);
}
TEST_CASE("http response: differing or invalid Content-Length is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK", "Content-Length: 3\r\nContent-Length: 4\r\n")) == 502);
  CHECK(refusal(response("HTTP/1.1 200 OK", "Content-Length: -3\r\n")) == 502);
}
TEST_CASE("http response: a response naming chunked twice is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, chunked\r\n")) == 502);
}
TEST_CASE("http response: a transfer coding that is not a token is refused with 502") {
  CHECK(refusal(response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip;q=1, chunked\r\n")) == 502);
  CHECK(refusal(response("HTTP/1.1 200 OK", "Transfer-Encoding: g zip\r\n")) == 502);
}
TEST_CASE("http response: a final coding other than chunked makes the body end at close") {
  for (const char* te : {"chunked, deflate", "chunked, identity", "gzip"}) {
    CAPTURE(te);
    const Parsed parsed = parse(response("HTTP/1.1 200 OK", "Transfer-Encoding: "s + te + "\r\n"));
    REQUIRE(parsed.result == ParseResult::Complete);
    CHECK(parsed.head.framing == Framing::UntilClose);
    CHECK(parsed.head.close);
  }
}
TEST_CASE("http response: Transfer-Encoding on an HTTP/1.0 response is refused with 502") {
  CHECK(refusal(response("HTTP/1.0 200 OK", "Transfer-Encoding: chunked\r\n")) == 502);
}
TEST_CASE("http response: response heads over the limits are refused with 502") {
  Limits limits;
  limits.max_fields = 1;
  limits.max_head_bytes = 40;
  ResponseHead head;
  ParseError error;
  CHECK(parseResponse(response("HTTP/1.1 200 OK", "A: 1\r\nB: 2\r\n"), limits, false, head,
                      error) == ParseResult::Error);
  CHECK(error.status == 502);
  error = {};
  CHECK(parseResponse("HTTP/1.1 200 OK\r\nX-Long: " + std::string(40, 'x'), limits, false, head,
                      error) == ParseResult::Error);
  CHECK(error.status == 502);
}
