// HeadScanner: a head fed in pieces is read in linear time, answers as the
// parse functions do on the same bytes, and is refused as early as they
// refuse it (bare LF, limits) before the head ends.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/codec/head_scanner.h"

using namespace fulcrum::http;

namespace {

// What feeding a head one more byte per call gave: the first answer that
// was not Incomplete, and after how many bytes (0 when none came).
struct Fed {
  ParseResult result = ParseResult::Incomplete;
  size_t at = 0;
  ParseError error;
};

Fed requestBytewise(HeadScanner& scanner, std::string_view data, const Limits& limits,
                    RequestHead& head) {
  Fed fed;
  for (size_t length = 1; length <= data.size(); ++length) {
    fed.result = scanner.parseRequest(data.substr(0, length), limits, head, fed.error);
    if (fed.result != ParseResult::Incomplete) {
      fed.at = length;
      break;
    }
  }
  return fed;
}

Fed requestBytewise(std::string_view data, const Limits& limits = {}) {
  HeadScanner scanner;
  RequestHead head;
  return requestBytewise(scanner, data, limits, head);
}

// A request head of close to `size` bytes: 60-byte-or-so field lines.
std::string bigRequestHead(size_t size) {
  std::string head = "POST /pay HTTP/1.1\r\nHost: api.example\r\nContent-Length: 0\r\n";
  for (int i = 0; head.size() + 64 < size; ++i)
    head += "X-Field-" + std::to_string(i) + ": " + std::string(400, 'v') + "\r\n";
  return head + "\r\n";
}

}  // namespace

TEST_CASE("http head scanner: a 32 KB head fed one byte at a time is looked at in linear time") {
  const std::string data = bigRequestHead(32000);
  REQUIRE(data.size() > 31000);
  REQUIRE(data.size() <= Limits{}.max_head_bytes);
  HeadScanner scanner;
  RequestHead head;
  const Fed fed = requestBytewise(scanner, data, {}, head);
  REQUIRE(fed.result == ParseResult::Complete);
  CHECK(fed.at == data.size());
  CHECK(head.length == data.size());
  CHECK(head.method == "POST");
  CHECK(head.fields.size() > 70);
  // Each byte is scanned once, checked once with its line, and parsed once
  // at the end; reading from the first byte on every call would look at
  // about data.size()^2 / 2 = 500 million bytes.
  CHECK(scanner.bytesExamined() <= 3 * data.size());
}

TEST_CASE(
    "http head scanner: a 64 KB response head fed one byte at a time is looked at in linear time") {
  Limits limits;
  limits.max_head_bytes = size_t{64} * 1024;
  limits.max_fields = 256;
  std::string data = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
  while (data.size() < 64000) data += "X-Pad: " + std::string(300, 'p') + "\r\n";
  data += "\r\n";
  REQUIRE(data.size() <= limits.max_head_bytes);
  HeadScanner scanner;
  ResponseHead head;
  ParseError error;
  ParseResult result = ParseResult::Incomplete;
  size_t at = 0;
  while (result == ParseResult::Incomplete && at < data.size())
    result =
        scanner.parseResponse(std::string_view(data).substr(0, ++at), limits, false, head, error);
  REQUIRE(result == ParseResult::Complete);
  CHECK(at == data.size());
  CHECK(head.status == 200);
  CHECK(head.content_length == 2);
  CHECK(scanner.bytesExamined() <= 3 * data.size());
}

TEST_CASE("http head scanner: a head that arrives whole is parsed once, without line checks") {
  const std::string data = bigRequestHead(4000);
  HeadScanner scanner;
  RequestHead head;
  ParseError error;
  REQUIRE(scanner.parseRequest(data + "body", {}, head, error) == ParseResult::Complete);
  CHECK(head.length == data.size());
  CHECK(scanner.bytesExamined() <= 2 * data.size());
}

TEST_CASE("http head scanner: a bare LF is refused as soon as it arrives") {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1";
  const Fed fed = requestBytewise(start + "\nX-B: 2\r\n\r\n");
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == start.size() + 1);
  CHECK(fed.error.status == 400);
  CHECK(std::string_view(fed.error.reason) == "bare LF");
}

TEST_CASE("http head scanner: CR without LF and control characters are refused as they arrive") {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1";
  for (const std::string& bad : {std::string("\rX"), std::string(1, '\0'), std::string("\x7f")}) {
    CAPTURE(bad.size());
    const Fed fed = requestBytewise(start + bad + "tail that never ends");
    CHECK(fed.result == ParseResult::Error);
    CHECK(fed.at == start.size() + bad.size());
    CHECK(fed.error.status == 400);
  }
}

TEST_CASE("http head scanner: a head over max_head_bytes is refused with 431 one byte over") {
  Limits limits;
  limits.max_head_bytes = 4096;
  const std::string endless = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(10000, 'p');
  const Fed fed = requestBytewise(endless, limits);
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == limits.max_head_bytes + 1);
  CHECK(fed.error.status == 431);
}

TEST_CASE("http head scanner: a too long request line is refused with 414 one byte over") {
  Limits limits;
  limits.max_request_line = 100;
  const std::string line = "\r\nGET /" + std::string(500, 'a');
  const Fed fed = requestBytewise(line, limits);
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == 2 + limits.max_request_line + 1);  // after the skipped empty line
  CHECK(fed.error.status == 414);
}

TEST_CASE("http head scanner: a request line at the limit passes byte by byte, one more is 414") {
  Limits limits;
  limits.max_request_line = 64;
  const std::string at_limit = "GET /" + std::string(50, 'a') + " HTTP/1.1";
  REQUIRE(at_limit.size() == 64);
  HeadScanner scanner;
  RequestHead head;
  const Fed fed = requestBytewise(scanner, at_limit + "\r\nHost: a\r\n\r\n", limits, head);
  CHECK(fed.result == ParseResult::Complete);
  CHECK(head.target.size() == 51);
  const Fed over = requestBytewise("GET /" + std::string(51, 'a') + " HTTP/1.1\r\n\r\n", limits);
  CHECK(over.result == ParseResult::Error);
  CHECK(over.at == 65);
  CHECK(over.error.status == 414);
}

TEST_CASE("http head scanner: one field too many is refused with 431 at its first byte") {
  Limits limits;
  limits.max_fields = 5;
  std::string data = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < 5; ++i) data += "X-" + std::to_string(i) + ": v\r\n";
  const size_t fifth_ends = data.size();
  const Fed fed = requestBytewise(data + "X-Sixth: v\r\n\r\n", limits);
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == fifth_ends + 1);
  CHECK(fed.error.status == 431);
}

TEST_CASE("http head scanner: obs-fold is refused at the first byte of the folded line") {
  const std::string data = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n";
  const Fed fed = requestBytewise(data + " folded\r\n\r\n");
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == data.size() + 1);
  CHECK(fed.error.status == 400);
}

TEST_CASE("http head scanner: other invalid bytes are refused when their line ends") {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n";
  const Fed fed = requestBytewise(start + "X-More: 1\r\n\r\n");
  CHECK(fed.result == ParseResult::Error);
  CHECK(fed.at == start.size());
  CHECK(std::string_view(fed.error.reason) == "whitespace before colon");
  const std::string version = "GET / HTTP/1.2\r\n";
  const Fed bad_version = requestBytewise(version + "Host: a\r\n\r\n");
  CHECK(bad_version.result == ParseResult::Error);
  CHECK(bad_version.at == version.size());
  CHECK(bad_version.error.status == 400);
}

TEST_CASE("http head scanner: fed in pieces, it answers as one parse of the same bytes") {
  const std::vector<std::string> heads = {
      "\r\n\r\nGET /a?b HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "OPTIONS * HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
      "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (const std::string& data : heads) {
    CAPTURE(data);
    RequestHead whole;
    ParseError whole_error;
    const ParseResult expected = parseRequest(data, {}, whole, whole_error);
    for (size_t piece : {size_t{1}, size_t{3}, size_t{7}}) {
      CAPTURE(piece);
      HeadScanner scanner;
      RequestHead head;
      ParseError error;
      ParseResult result = ParseResult::Incomplete;
      for (size_t length = piece; result == ParseResult::Incomplete && length < data.size() + piece;
           length += piece)
        result = scanner.parseRequest(std::string_view(data).substr(0, length), {}, head, error);
      CHECK(result == expected);
      if (expected == ParseResult::Complete) {
        CHECK(head.length == whole.length);
        CHECK(head.path == whole.path);
        CHECK(head.framing == whole.framing);
      } else {
        CHECK(error.status == whole_error.status);
        CHECK(std::string_view(error.reason) == whole_error.reason);
      }
    }
  }
}

TEST_CASE("http head scanner: it starts over after a head, and after reset()") {
  HeadScanner scanner;
  RequestHead head;
  ParseError error;
  const std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "GET /two HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string input = first + second.substr(0, 10);
  REQUIRE(scanner.parseRequest(input, {}, head, error) == ParseResult::Complete);
  CHECK(head.path == "/one");
  // The session drains the first head; the second is read from its start.
  input = second.substr(0, 10);
  CHECK(scanner.parseRequest(input, {}, head, error) == ParseResult::Incomplete);
  input = second;
  REQUIRE(scanner.parseRequest(input, {}, head, error) == ParseResult::Complete);
  CHECK(head.path == "/two");

  // Half a head, thrown away (a retry on a new connection), then a shorter
  // head whose end lies before where the scan of the first had got to.
  const std::string half = "GET /half HTTP/1.1\r\nHost: a\r\nX-Long-Name-" + std::string(100, 'n');
  CHECK(scanner.parseRequest(half, {}, head, error) == ParseResult::Incomplete);
  scanner.reset();
  const std::string other = "GET /other HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string with_body = other + std::string(200, 'b');
  REQUIRE(scanner.parseRequest(with_body, {}, head, error) == ParseResult::Complete);
  CHECK(head.length == other.size());
  CHECK(head.path == "/other");
  CHECK(head.host == "b");
}

TEST_CASE("http head scanner: interim responses are read one after another") {
  HeadScanner scanner;
  ResponseHead head;
  ParseError error;
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_head = "HTTP/1.1 204 No Content\r\n\r\n";
  std::string bytes = interim + final_head;
  REQUIRE(scanner.parseResponse(bytes, {}, false, head, error) == ParseResult::Complete);
  CHECK(head.status == 100);
  bytes.erase(0, head.length);
  for (size_t length = 1; length < bytes.size(); ++length)
    REQUIRE(scanner.parseResponse(std::string_view(bytes).substr(0, length), {}, false, head,
                                  error) == ParseResult::Incomplete);
  REQUIRE(scanner.parseResponse(bytes, {}, false, head, error) == ParseResult::Complete);
  CHECK(head.status == 204);
}

TEST_CASE("http field line check: one line judged as the parser judges it") {
  ParseError error;
  CHECK(checkFieldLine("Host: a\r\n", false, error) == ParseResult::Complete);
  CHECK(checkFieldLine("Host: a", false, error) == ParseResult::Incomplete);
  CHECK(checkFieldLine("Host : a\r\n", false, error) == ParseResult::Error);
  CHECK(error.status == 400);
  CHECK(checkFieldLine(" folded\r\n", true, error) == ParseResult::Error);
  CHECK(error.status == 502);
  CHECK(checkFieldLine("X: a\x01\r\n", false, error) == ParseResult::Error);
}
