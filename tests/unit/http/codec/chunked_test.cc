#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/codec/chunked.h"

using namespace fulcrum::http;
using namespace std::string_literals;

namespace {

struct Outcome {
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
  uint64_t payload = 0;
};

Outcome scanWhole(std::string_view body, const Limits& limits = {}) {
  ChunkedScanner scanner(limits);
  Outcome outcome;
  outcome.consumed = scanner.scan(body);
  outcome.done = scanner.done();
  outcome.failed = scanner.failed();
  outcome.payload = scanner.payloadBytes();
  if (outcome.failed) CHECK(scanner.error()[0] != '\0');
  return outcome;
}

// Feeds `body` in pieces cut at the given positions.
Outcome scanSplit(std::string_view body, size_t cut) {
  ChunkedScanner scanner(Limits{});
  Outcome outcome;
  for (std::string_view piece : {body.substr(0, cut), body.substr(cut)}) {
    const size_t used = scanner.scan(piece);
    CHECK(used <= piece.size());
    outcome.consumed += used;
    if (scanner.done() || scanner.failed()) break;
  }
  outcome.done = scanner.done();
  outcome.failed = scanner.failed();
  outcome.payload = scanner.payloadBytes();
  return outcome;
}

bool fails(std::string_view body, const Limits& limits = {}) {
  return scanWhole(body, limits).failed;
}

bool completes(std::string_view body, const Limits& limits = {}) {
  const Outcome outcome = scanWhole(body, limits);
  return outcome.done && outcome.consumed == body.size();
}

}  // namespace

TEST_CASE("http chunked: a chunked body ends after the last chunk and the empty line") {
  const std::string body = "5\r\nhello\r\n1A\r\n" + std::string(26, 'x') + "\r\n0\r\n\r\n";
  const Outcome outcome = scanWhole(body);
  CHECK(outcome.done);
  CHECK(outcome.consumed == body.size());
  CHECK(outcome.payload == 31);
}

TEST_CASE("http chunked: bytes after the body are not consumed") {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  const Outcome outcome = scanWhole(body + "GET / HTTP/1.1\r\n");
  CHECK(outcome.done);
  CHECK(outcome.consumed == body.size());
}

TEST_CASE("http chunked: a body that has not ended is consumed whole and not done") {
  const Outcome outcome = scanWhole("10\r\nonly part");
  CHECK_FALSE(outcome.done);
  CHECK_FALSE(outcome.failed);
  CHECK(outcome.consumed == 13);
  CHECK(outcome.payload == 9);
}

TEST_CASE("http chunked: splitting a body at any byte gives the same result as scanning it whole") {
  const std::string bodies[] = {
      "5;ext=\"a b\"\r\nhello\r\nA \t;x\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-Other:\t2\r\n\r\nnext",
      "3\r\nabc\r\n0\r\n\r\n",
      "3\r\nabc\nx",
      "ffffffffffffffff0\r\n",
  };
  for (const std::string& body : bodies) {
    const Outcome whole = scanWhole(body);
    for (size_t cut = 0; cut <= body.size(); ++cut) {
      CAPTURE(body);
      CAPTURE(cut);
      const Outcome split = scanSplit(body, cut);
      CHECK(split.done == whole.done);
      CHECK(split.failed == whole.failed);
      CHECK(split.payload == whole.payload);
      if (whole.done) CHECK(split.consumed == whole.consumed);
    }
  }
}

TEST_CASE("http chunked: a body fed one byte at a time ends at the same byte") {
  const std::string body = "2;a=b\r\nhi\r\n0\r\nT: v\r\n\r\nrest";
  ChunkedScanner scanner(Limits{});
  size_t consumed = 0;
  for (size_t i = 0; i < body.size() && !scanner.done(); ++i) {
    consumed += scanner.scan(std::string_view(body).substr(i, 1));
  }
  CHECK(scanner.done());
  CHECK(consumed == body.size() - 4);
  CHECK(scanner.scan("more") == 0);
}

TEST_CASE("http chunked: chunk sizes are hexadecimal in either case") {
  CHECK(scanWhole("aB\r\n" + std::string(0xab, 'x') + "\r\n0\r\n\r\n").done);
  CHECK(completes("000\r\n\r\n"));
}

TEST_CASE("http chunked: chunk extensions, with whitespace before the semicolon, are accepted") {
  CHECK(completes("1;a\r\nx\r\n1;a=b;c=\"d;e\"\r\nx\r\n0;last\r\n\r\n"));
  CHECK(completes("1 ;a\r\nx\r\n0\t; b\r\n\r\n"));
  CHECK(completes("1;a = b ;c\r\nx\r\n0\r\n\r\n"));  // BWS around '=' too (RFC 9112 7.1.1)
  CHECK(completes("1;a=\"q\\\"uote\\\\\"\r\nx\r\n0\r\n\r\n"));  // quoted-pairs
}

TEST_CASE("http chunked: whitespace after a chunk size with no extension fails") {
  CHECK(fails("5 \r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5\t\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=b \r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a \r\nhello\r\n0\r\n\r\n"));
}

TEST_CASE("http chunked: a bare semicolon fails") {
  CHECK(fails("5;\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5 ;\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a;\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;=b\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=\r\nhello\r\n0\r\n\r\n"));
}

TEST_CASE("http chunked: an extension byte outside a token fails") {
  CHECK(fails("5;a@b\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=b@c\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=b c\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=(b)\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;\x80\r\nhello\r\n0\r\n\r\n"));
}

TEST_CASE("http chunked: unbalanced quotes in an extension fail") {
  CHECK(fails("5;a=\"b\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails("5;a=\"b\\\"\r\nhello\r\n0\r\n\r\n"));  // the last quote is escaped
  CHECK(fails("5;a=b\"\r\nhello\r\n0\r\n\r\n"));
}

TEST_CASE("http chunked: framing is read up to the chunk data, which the caller skips") {
  ChunkedScanner scanner(Limits{});
  const std::string wire = "5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\nnext";
  size_t at = scanner.scanFraming(wire);
  CHECK(at == 9);
  REQUIRE(scanner.inData());
  CHECK(scanner.chunkSize() == 5);
  CHECK(scanner.dataLeft() == 5);
  CHECK(scanner.scanFraming(std::string_view(wire).substr(at)) == 0);  // data is not framing
  scanner.skipData(3);
  CHECK(scanner.dataLeft() == 2);
  scanner.skipData(2);
  CHECK_FALSE(scanner.inData());
  at += 5;
  at += scanner.scanFraming(std::string_view(wire).substr(at));
  CHECK(scanner.done());
  CHECK(wire.substr(at) == "next");
  CHECK(scanner.payloadBytes() == 5);
}

TEST_CASE("http chunked: a trailer line that is not a field line fails") {
  CHECK(fails("0\r\nX A: 1\r\n\r\n"));
  CHECK(fails("0\r\nX-A : 1\r\n\r\n"));
  CHECK(fails("0\r\n: v\r\n\r\n"));
  CHECK(fails("0\r\nno colon\r\n\r\n"));
  CHECK(fails("0\r\nX-A: 1\r\n\rx"));
}

TEST_CASE("http chunked: trailer fields are accepted") {
  CHECK(completes("0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"));
}

TEST_CASE("http chunked: a chunk size without digits fails") {
  CHECK(fails("\r\nhello\r\n0\r\n\r\n"));
  CHECK(fails(";ext\r\n"));
}
TEST_CASE("http chunked: a chunk size that is not hexadecimal fails") {
  CHECK(fails("g\r\n"));
  CHECK(fails("-5\r\n"));
  CHECK(fails("0x5\r\n"));
  CHECK(fails("+5\r\n"));
}
TEST_CASE("http chunked: whitespace inside a chunk size fails") {
  CHECK(fails("5 5\r\n"));
  CHECK(fails("5 x\r\n"));
}
TEST_CASE("http chunked: a chunk size of more than 16 hex digits fails") {
  CHECK_FALSE(fails("ffffffffffffffff\r\n"));
  CHECK(fails("10000000000000000\r\n"));
  CHECK(fails("00000000000000005\r\n"));
}
TEST_CASE("http chunked: a bare LF after the chunk size fails") {
  CHECK(fails("5\nhello\r\n0\r\n\r\n"));
}
TEST_CASE("http chunked: a bare LF after chunk data fails") {
  CHECK(fails("5\r\nhello\n0\r\n\r\n"));
}
TEST_CASE("http chunked: chunk data longer than its size fails") {
  CHECK(fails("3\r\nhello\r\n0\r\n\r\n"));
}
TEST_CASE("http chunked: a CR not followed by LF after the size fails") {
  CHECK(fails("5\rhello"));
}
TEST_CASE("http chunked: a control character in a chunk extension fails") {
  CHECK(fails("5;a\x01\r\nhello\r\n"));
  CHECK(fails("5;a\nb\r\nhello\r\n"));
  CHECK(fails("5;a\0b\r\n"s));
  CHECK_FALSE(fails("5;a=\tb\r\n"));
}
TEST_CASE("http chunked: a chunk extension at the limit passes and one byte more fails") {
  Limits limits;
  limits.max_chunk_extension = 8;
  CHECK(completes("1;abcdefg\r\nx\r\n0\r\n\r\n", limits));  // ";abcdefg" is 8 bytes
  CHECK(fails("1;abcdefgh\r\nx\r\n0\r\n\r\n", limits));
  CHECK(fails("1" + std::string(8, ' ') + ";\r\nx\r\n0\r\n\r\n", limits));  // whitespace counts
  // The limit is per chunk line, not per body.
  CHECK(completes("1;abcdefg\r\nx\r\n1;abcdefg\r\nx\r\n0;abcdefg\r\n\r\n", limits));
}
TEST_CASE("http chunked: a bare LF in the trailer fails") {
  CHECK(fails("0\r\nX-A: 1\n\r\n"));
  CHECK(fails("0\r\n\n"));
}
TEST_CASE("http chunked: a control character in a trailer field fails") {
  CHECK(fails("0\r\nX-A: \x01\r\n\r\n"));
}
TEST_CASE("http chunked: obs-fold in the trailer fails") {
  CHECK(fails("0\r\nX-A: 1\r\n 2\r\n\r\n"));
}
TEST_CASE("http chunked: at most 100 trailer fields are accepted") {
  std::string trailer;
  for (int i = 0; i < 100; ++i) trailer += "X-T: " + std::to_string(i) + "\r\n";
  CHECK(completes("0\r\n" + trailer + "\r\n"));
  CHECK(fails("0\r\n" + trailer + "X-T: 101\r\n\r\n"));
}
TEST_CASE("http chunked: a trailer field line of more than 8 KiB fails") {
  CHECK(completes("0\r\nX: " + std::string(8192 - 3, 'v') + "\r\n\r\n"));
  CHECK(fails("0\r\nX: " + std::string(8192 - 2, 'v') + "\r\n\r\n"));
}
TEST_CASE("http chunked: a failed scanner scans nothing more") {
  ChunkedScanner scanner(Limits{});
  CHECK(scanner.scan("zz") == 0);
  REQUIRE(scanner.failed());
  CHECK(scanner.scan("5\r\nhello\r\n0\r\n\r\n") == 0);
  CHECK(scanner.failed());
}
