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
  BodyForwarder body(Framing::ContentLength, 5, Limits{});
  b.add("hel");
  CHECK(body.forward(b.in, b.out) == 3);
  CHECK_FALSE(body.done());
  b.add("loGET / HTTP/1.1\r\n");
  CHECK(body.forward(b.in, b.out) == 2);
  CHECK(body.done());
  CHECK(b.take(b.out) == "hello");
  CHECK(b.take(b.in) == "GET / HTTP/1.1\r\n");
}

TEST_CASE("a chunked body is forwarded as received, byte by byte, up to its end") {
  const std::string wire = "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: v\r\n\r\n";
  Buffers b;
  BodyForwarder body(Framing::Chunked, 0, Limits{});
  for (char c : wire) {
    CHECK_FALSE(body.done());
    b.add(std::string(1, c));
    body.forward(b.in, b.out);
  }
  CHECK(body.done());
  CHECK_FALSE(body.failed());
  b.add("NEXT");
  CHECK(body.forward(b.in, b.out) == 0);
  CHECK(b.take(b.out) == wire);
  CHECK(b.take(b.in) == "NEXT");
}

TEST_CASE("a malformed chunked body fails") {
  Buffers b;
  BodyForwarder body(Framing::Chunked, 0, Limits{});
  b.add("5\r\nhello\r\nzz\r\n");
  body.forward(b.in, b.out);
  CHECK(body.failed());
  CHECK_FALSE(body.overLimit());
}

TEST_CASE("bodies over the limit fail as over limit, in both framings") {
  Buffers b;
  BodyForwarder sized(Framing::ContentLength, 100, Limits{}, 10);
  b.add(std::string(11, 'x'));
  sized.forward(b.in, b.out);
  CHECK(sized.overLimit());
  Buffers c;
  BodyForwarder chunked(Framing::Chunked, 0, Limits{}, 10);
  c.add("b\r\nhello world\r\n0\r\n\r\n");
  chunked.forward(c.in, c.out);
  CHECK(chunked.overLimit());
}

TEST_CASE("an until-close body ends when the input closes, others are truncated then") {
  Buffers b;
  BodyForwarder until_close(Framing::UntilClose, 0, Limits{});
  b.add("abc");
  CHECK(until_close.forward(b.in, b.out) == 3);
  CHECK_FALSE(until_close.done());
  until_close.inputClosed();
  CHECK(until_close.done());
  BodyForwarder sized(Framing::ContentLength, 10, Limits{});
  sized.inputClosed();
  CHECK(sized.failed());
  BodyForwarder none(Framing::None, 0, Limits{});
  CHECK(none.done());
}
