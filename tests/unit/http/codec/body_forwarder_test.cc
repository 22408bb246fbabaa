#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <string>

#include "http/codec/body_forwarder.h"

using namespace fulcrum::http;

namespace {

struct Buffers {
  evbuffer* in = evbuffer_new();
  evbuffer* out = evbuffer_new();
  ~Buffers() {
    evbuffer_free(in);
    evbuffer_free(out);
  }
  void add(const std::string& bytes) { evbuffer_add(in, bytes.data(), bytes.size()); }
  std::string take(evbuffer* buffer) {
    std::string text(evbuffer_get_length(buffer), '\0');
    evbuffer_remove(buffer, text.data(), text.size());
    return text;
  }
};

}  // namespace

TEST_CASE("a content-length body stops at its end and leaves the next request in the input") {
  Buffers b;
  BodyForwarder body(Framing::ContentLength, BodyOut::ContentLength, 5, Limits{});
  b.add("hel");
  CHECK(body.forward(b.in, b.out) == 3);
  CHECK_FALSE(body.done());
  b.add("loGET / HTTP/1.1\r\n");
  CHECK(body.forward(b.in, b.out) == 2);
  CHECK(body.done());
  CHECK(b.take(b.out) == "hello");
  CHECK(b.take(b.in) == "GET / HTTP/1.1\r\n");
}

TEST_CASE(
    "a chunked body is re-framed: sizes written by fulcrum, extensions and trailers dropped") {
  const std::string wire = "04;x=y\r\nWiki\r\n5 ; a=\"b\"\r\npedia\r\n0;end\r\nTrailer: v\r\n\r\n";
  Buffers b;
  BodyForwarder body(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  size_t written = 0;
  for (char c : wire) {
    CHECK_FALSE(body.done());
    b.add(std::string(1, c));
    written += body.forward(b.in, b.out);
  }
  CHECK(body.done());
  CHECK_FALSE(body.failed());
  b.add("NEXT");
  CHECK(body.forward(b.in, b.out) == 0);
  const std::string out = b.take(b.out);
  CHECK(out == "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n");
  CHECK(written == out.size());
  CHECK(b.take(b.in) == "NEXT");
}

TEST_CASE("a re-framed chunk's size line goes out before its data has all arrived") {
  Buffers b;
  BodyForwarder body(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  b.add("1a\r\nabc");
  body.forward(b.in, b.out);
  CHECK(b.take(b.out) == "1a\r\nabc");
  b.add(std::string(23, 'x') + "\r\n");
  body.forward(b.in, b.out);
  CHECK(b.take(b.out) == std::string(23, 'x') + "\r\n");
  CHECK_FALSE(body.done());
}

TEST_CASE("a chunked body can leave as its data alone, for a reader that cannot take chunked") {
  Buffers b;
  BodyForwarder body(Framing::Chunked, BodyOut::UntilClose, 0, Limits{});
  b.add("3\r\nabc\r\n2;x\r\nde\r\n0\r\nT: 1\r\n\r\n");
  CHECK(body.forward(b.in, b.out) == 5);
  CHECK(body.done());
  CHECK(b.take(b.out) == "abcde");
}

TEST_CASE(
    "an until-close body can leave chunked, one chunk per read, ended when the input closes") {
  Buffers b;
  BodyForwarder body(Framing::UntilClose, BodyOut::Chunked, 0, Limits{});
  b.add("hello");
  body.forward(b.in, b.out);
  b.add(std::string(300, 'x'));
  body.forward(b.in, b.out);
  CHECK_FALSE(body.done());
  body.inputClosed(b.out);
  CHECK(body.done());
  CHECK(b.take(b.out) == "5\r\nhello\r\n12c\r\n" + std::string(300, 'x') + "\r\n0\r\n\r\n");
}

TEST_CASE("a malformed chunked body fails, and nothing after the bad line is written") {
  Buffers b;
  BodyForwarder body(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  b.add("5\r\nhello\r\n5 \r\nworld\r\n0\r\n\r\n");
  body.forward(b.in, b.out);
  CHECK(body.failed());
  CHECK_FALSE(body.overLimit());
  CHECK(b.take(b.out) == "5\r\nhello\r\n");
}

TEST_CASE("bytes ahead of the body are judged without moving them") {
  Buffers b;
  BodyForwarder bad(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  const std::string ahead = "HEAD5;\"q\r\nhello\r\n";
  b.add(ahead);
  const char* why = nullptr;
  CHECK_FALSE(bad.checkAhead(b.in, 4, why));
  REQUIRE(why != nullptr);
  CHECK(std::string(why).find("chunk extension") != std::string::npos);
  CHECK(evbuffer_get_length(b.in) == ahead.size());
  CHECK_FALSE(bad.failed());  // the forwarder itself has read nothing yet
  Buffers c;
  BodyForwarder good(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  c.add("HEAD5\r\nhel");
  CHECK(good.checkAhead(c.in, 4, why));
  BodyForwarder sized(Framing::ContentLength, BodyOut::ContentLength, 3, Limits{});
  CHECK(sized.checkAhead(c.in, 4, why));
}

TEST_CASE("bodies over the limit fail as over limit, in both framings") {
  Buffers b;
  BodyForwarder sized(Framing::ContentLength, BodyOut::ContentLength, 100, Limits{}, 10);
  b.add(std::string(11, 'x'));
  sized.forward(b.in, b.out);
  CHECK(sized.overLimit());
  Buffers c;
  BodyForwarder chunked(Framing::Chunked, BodyOut::Chunked, 0, Limits{}, 10);
  c.add("b\r\nhello world\r\n0\r\n\r\n");
  chunked.forward(c.in, c.out);
  CHECK(chunked.overLimit());
}

TEST_CASE("an until-close body ends when the input closes, others are truncated then") {
  Buffers b;
  BodyForwarder until_close(Framing::UntilClose, BodyOut::UntilClose, 0, Limits{});
  b.add("abc");
  CHECK(until_close.forward(b.in, b.out) == 3);
  CHECK_FALSE(until_close.done());
  until_close.inputClosed(b.out);
  CHECK(until_close.done());
  CHECK(b.take(b.out) == "abc");
  BodyForwarder sized(Framing::ContentLength, BodyOut::ContentLength, 10, Limits{});
  sized.inputClosed(b.out);
  CHECK(sized.failed());
  BodyForwarder chunked(Framing::Chunked, BodyOut::Chunked, 0, Limits{});
  chunked.inputClosed(b.out);
  CHECK(chunked.failed());
  CHECK(evbuffer_get_length(b.out) == 0);
  BodyForwarder none(Framing::None, BodyOut::None, 0, Limits{});
  CHECK(none.done());
}

namespace {

int chainsIn(evbuffer* buffer) {
  return evbuffer_peek(buffer, -1, nullptr, nullptr, 0);
}

}  // namespace

TEST_CASE("a short body joins the head's chain, a long one moves as its own chains") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n";
  Buffers b;  // made again for each subcase, with the head already out
  evbuffer_add(b.out, head.data(), head.size());
  SUBCASE("short: one chain, sent in one send()") {
    b.add("hello\nNEXT");
    BodyForwarder body(Framing::ContentLength, BodyOut::ContentLength, 6, Limits{});
    CHECK(body.forward(b.in, b.out) == 6);
    CHECK(body.done());
    CHECK(chainsIn(b.out) == 1);
    CHECK(b.take(b.out) == head + "hello\n");
    CHECK(b.take(b.in) == "NEXT");
  }
  SUBCASE("short, across two input chains") {
    b.add("hel");
    evbuffer* second = evbuffer_new();
    evbuffer_add(second, "lo\nNEXT", 7);
    evbuffer_add_buffer(b.in, second);
    evbuffer_free(second);
    REQUIRE(chainsIn(b.in) == 2);
    BodyForwarder body(Framing::ContentLength, BodyOut::ContentLength, 6, Limits{});
    CHECK(body.forward(b.in, b.out) == 6);
    CHECK(chainsIn(b.out) == 1);
    CHECK(b.take(b.out) == head + "hello\n");
    CHECK(b.take(b.in) == "NEXT");
  }
  SUBCASE("long: the input's chain changes hands") {
    const std::string long_body(4096, 'x');
    b.add(long_body);
    BodyForwarder body(Framing::ContentLength, BodyOut::ContentLength, long_body.size(), Limits{});
    CHECK(body.forward(b.in, b.out) == long_body.size());
    CHECK(chainsIn(b.out) == 2);
    CHECK(b.take(b.out) == head + long_body);
  }
}
