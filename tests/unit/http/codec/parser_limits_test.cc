// Limits (exactly at the limit passes, one byte or field over is refused,
// also before the head has ended) and restarts on growing input.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/codec/parser.h"

using namespace fulcrum::http;

namespace {

ParseResult parse(std::string_view data, const Limits& limits, ParseError& error) {
  RequestHead head;
  return parseRequest(data, limits, head, error);
}

// "GET /aaa HTTP/1.1" of exactly `length` bytes (at least 16).
std::string requestLine(size_t length) {
  return "GET /" + std::string(length - 14, 'a') + " HTTP/1.1";
}

// A whole request head of exactly `length` bytes.
std::string headOfLength(size_t length) {
  const std::string fixed = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n";
  return "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(length - fixed.size(), 'p') +
         "\r\n\r\n";
}

std::string headWithFields(size_t count) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i < count; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  return head + "\r\n";
}

}  // namespace

TEST_CASE("http limits: a request line at the limit passes, one byte more is refused with 414") {
  Limits limits;
  limits.max_request_line = 64;
  ParseError error;
  CHECK(parse(requestLine(64) + "\r\nHost: a\r\n\r\n", limits, error) == ParseResult::Complete);
  CHECK(parse(requestLine(65) + "\r\nHost: a\r\n\r\n", limits, error) == ParseResult::Error);
  CHECK(error.status == 414);
}

TEST_CASE("http limits: a too long request line is refused with 414 before its end arrives") {
  Limits limits;
  limits.max_request_line = 64;
  ParseError error;
  const std::string line = requestLine(200);
  CHECK(parse(line.substr(0, 64), limits, error) == ParseResult::Incomplete);
  CHECK(parse(line.substr(0, 65), limits, error) == ParseResult::Error);
  CHECK(error.status == 414);
  error = {};
  CHECK(parse("GET /" + std::string(100, 'a'), limits, error) == ParseResult::Error);
  CHECK(error.status == 414);
}

TEST_CASE("http limits: a head at the limit passes, one byte more is refused with 431") {
  Limits limits;
  limits.max_head_bytes = 128;
  ParseError error;
  const std::string exact = headOfLength(128);
  REQUIRE(exact.size() == 128);
  CHECK(parse(exact, limits, error) == ParseResult::Complete);
  CHECK(parse(exact + "body after the head", limits, error) == ParseResult::Complete);
  CHECK(parse(headOfLength(129), limits, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http head limits: a head over the limit is refused with 431 before its end arrives") {
  Limits limits;
  limits.max_head_bytes = 128;
  ParseError error;
  const std::string endless = "GET / HTTP/1.1\r\nX-Pad: " + std::string(500, 'p');
  CHECK(parse(endless.substr(0, 128), limits, error) == ParseResult::Incomplete);
  CHECK(parse(endless.substr(0, 129), limits, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http limits: the head limit's 431 comes first when it is the smaller limit") {
  Limits limits;
  limits.max_head_bytes = 64;
  ParseError error;
  CHECK(parse("GET /" + std::string(100, 'a'), limits, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http limits: max_fields fields pass, one more is refused with 431") {
  Limits limits;
  limits.max_fields = 10;
  ParseError error;
  CHECK(parse(headWithFields(10), limits, error) == ParseResult::Complete);
  CHECK(parse(headWithFields(11), limits, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http head limits: one field too many is refused with 431 as soon as its line starts") {
  Limits limits;
  limits.max_fields = 10;
  ParseError error;
  const std::string ten = headWithFields(10);
  const std::string partial = ten.substr(0, ten.size() - 2) + "X";
  CHECK(parse(partial, limits, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http head limits: a head with the default maximum of 100 fields passes") {
  RequestHead head;
  ParseError error;
  const std::string data = headWithFields(100);
  REQUIRE(parseRequest(data, {}, head, error) == ParseResult::Complete);
  CHECK(head.fields.size() == 100);
  CHECK(head.fields[99].name == "X-F99");
  CHECK(parseRequest(headWithFields(101), {}, head, error) == ParseResult::Error);
  CHECK(error.status == 431);
}

TEST_CASE("http limits: every prefix of a valid request head is incomplete, the whole complete") {
  for (const std::string& data :
       {std::string("\r\nPOST http://a.example/pay HTTP/1.1\r\nHost: a.example\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: keep-alive, x\r\n\r\n"),
        std::string("OPTIONS * HTTP/1.0\r\n\r\n")}) {
    RequestHead head;
    ParseError error;
    for (size_t length = 0; length < data.size(); ++length) {
      CAPTURE(length);
      CHECK(parseRequest(std::string_view(data).substr(0, length), {}, head, error) ==
            ParseResult::Incomplete);
    }
    REQUIRE(parseRequest(data, {}, head, error) == ParseResult::Complete);
    CHECK(head.length == data.size());
  }
}

TEST_CASE("http limits: every prefix of a valid response head is incomplete, the whole complete") {
  for (const std::string& data : {std::string("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
                                  std::string("HTTP/1.0 204\r\n\r\n")}) {
    ResponseHead head;
    ParseError error;
    for (size_t length = 0; length < data.size(); ++length) {
      CAPTURE(length);
      CHECK(parseResponse(std::string_view(data).substr(0, length), {}, false, head, error) ==
            ParseResult::Incomplete);
    }
    REQUIRE(parseResponse(data, {}, false, head, error) == ParseResult::Complete);
    CHECK(head.length == data.size());
  }
}

TEST_CASE("http head limits: an error in the first bytes is reported before the head ends") {
  ParseError error;
  CHECK(parse("GET / HTTP/2", {}, error) == ParseResult::Error);
  CHECK(error.status == 400);
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nBad Name", {}, error) == ParseResult::Error);
}
