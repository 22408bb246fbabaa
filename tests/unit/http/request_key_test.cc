#include <doctest/doctest.h>

#include "http/request_key.h"

using namespace fulcrum;
using namespace fulcrum::http;
using Kind = config::HashKey::Kind;

namespace {

struct Parsed {
  std::string raw;
  RequestHead head;
  explicit Parsed(std::string text) : raw(std::move(text)) {
    ParseError error;
    REQUIRE(parseRequest(raw, Limits{}, head, error) == ParseResult::Complete);
  }
};

SocketAddress address(const char* text) {
  SocketAddress out;
  std::string why;
  REQUIRE(parseSocketAddress(text, out, why));
  return out;
}

}  // namespace

TEST_CASE("a header key hashes the header's value, whatever the field name's case") {
  Parsed a("GET / HTTP/1.1\r\nHost: t\r\nx-merchant-id: m-42\r\n\r\n");
  Parsed b("GET /other HTTP/1.1\r\nHost: u\r\nX-Merchant-Id: m-42\r\n\r\n");
  Parsed c("GET / HTTP/1.1\r\nHost: t\r\nX-Merchant-Id: m-43\r\n\r\n");
  config::HashKey key{Kind::Header, "X-Merchant-Id"};
  SocketAddress client = address("127.0.0.1:1");
  auto ka = requestHashKey(key, a.head, client);
  REQUIRE(ka);
  CHECK(ka == requestHashKey(key, b.head, client));
  CHECK(ka != requestHashKey(key, c.head, client));
  CHECK(*ka == upstream::hashKeyBytes("m-42"));
}

TEST_CASE("a request without the key has none, so the picker falls back") {
  Parsed request("GET / HTTP/1.1\r\nHost: t\r\nCookie: other=1\r\n\r\n");
  SocketAddress client = address("127.0.0.1:1");
  CHECK_FALSE(requestHashKey({Kind::Header, "X-Merchant-Id"}, request.head, client));
  CHECK_FALSE(requestHashKey({Kind::Cookie, "session"}, request.head, client));
  CHECK_FALSE(requestHashKey({Kind::None, ""}, request.head, client));
}

TEST_CASE("cookies are found among several, in several Cookie fields") {
  Parsed request(
      "GET / HTTP/1.1\r\nHost: t\r\nCookie: a=1; session=abc ;b=2\r\nCookie: c=3\r\n\r\n");
  CHECK(findCookie(request.head, "session") == "abc");
  CHECK(findCookie(request.head, "c") == "3");
  CHECK(findCookie(request.head, "sess").empty());
  CHECK(*requestHashKey({Kind::Cookie, "session"}, request.head, address("127.0.0.1:1")) ==
        upstream::hashKeyBytes("abc"));
}

TEST_CASE("uri hashes the path without the query, uri_with_query with it") {
  Parsed one("GET /v1/pay?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  Parsed two("GET /v1/pay?x=2 HTTP/1.1\r\nHost: t\r\n\r\n");
  SocketAddress client = address("127.0.0.1:1");
  CHECK(requestHashKey({Kind::Uri, ""}, one.head, client) ==
        requestHashKey({Kind::Uri, ""}, two.head, client));
  CHECK(requestHashKey({Kind::UriWithQuery, ""}, one.head, client) !=
        requestHashKey({Kind::UriWithQuery, ""}, two.head, client));
}

TEST_CASE("source_ip hashes the address, not the port") {
  Parsed request("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  config::HashKey key{Kind::SourceIp, ""};
  CHECK(requestHashKey(key, request.head, address("10.1.2.3:1000")) ==
        requestHashKey(key, request.head, address("10.1.2.3:2000")));
  CHECK(requestHashKey(key, request.head, address("10.1.2.3:1000")) !=
        requestHashKey(key, request.head, address("10.1.2.4:1000")));
  CHECK(upstream::hashSourceIp(address("[::1]:1")) == upstream::hashSourceIp(address("[::1]:2")));
}
