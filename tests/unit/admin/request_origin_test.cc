// The pure checks behind the admin listener's defences against browsers
// (admin/request_origin.h) and its token checks (admin/request_parts.h).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "admin/request_origin.h"
#include "admin/request_parts.h"
#include "support/configs.h"

using namespace fulcrum;
using fulcrum::test::validAddress;
using namespace fulcrum::admin;

namespace {

// Whether a listener reached at `local` answers to the Host field `host`.
bool answers(const std::string& host, const std::string& local,
             const std::vector<std::string>& hosts = {}) {
  auto authority = parseAuthority(host);
  REQUIRE_MESSAGE(authority, host);
  return hostAllowed(*authority, validAddress(local), hosts);
}

bool sameOriginAs(const std::string& origin, const std::string& host) {
  auto parsed = parseOrigin(origin);
  auto target = parseAuthority(host);
  REQUIRE(target);
  return parsed && sameOrigin(*parsed, *target);
}

}  // namespace

TEST_CASE("a Host field parses into host and port") {
  auto plain = parseAuthority("Admin.Example.com");
  REQUIRE(plain);
  CHECK(plain->host.text == "admin.example.com");
  CHECK(plain->port == -1);
  auto v4 = parseAuthority("127.0.0.1:9901");
  REQUIRE(v4);
  CHECK(v4->host.text == "127.0.0.1");
  CHECK(v4->port == 9901);
  auto v6 = parseAuthority("[0::1]:9901");
  REQUIRE(v6);
  CHECK(v6->host.text == "::1");
  CHECK(v6->port == 9901);
  auto v6_bare = parseAuthority("[::1]");
  REQUIRE(v6_bare);
  CHECK(v6_bare->port == -1);
  CHECK(parseAuthority("localhost:")->port == -1);  // an empty port is none (RFC 3986)
  CHECK(parseAuthority("localhost:0")->port == 0);

  for (const char* bad : {"", ":9901", "::1", "::1:9901", "[::1]9901", "[::1]:x", "[::1",
                          "localhost:65536", "localhost:123456", "localhost:-1", "a:1:2",
                          "user@localhost", "localhost/x", "local host", "*.example.com"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseAuthority(bad));
  }
}

TEST_CASE("the listener answers to its own literal, with or without port, whatever the port") {
  CHECK(answers("192.0.2.5:9901", "192.0.2.5:9901"));
  CHECK(answers("192.0.2.5", "192.0.2.5:9901"));
  CHECK(answers("192.0.2.5:19901", "192.0.2.5:9901"));  // forwarded: the port is not compared
  CHECK(answers("[2001:db8::5]:9901", "[2001:db8::5]:9901"));
  CHECK(answers("[2001:DB8:0::5]", "[2001:db8::5]:9901"));
  CHECK_FALSE(answers("192.0.2.6:9901", "192.0.2.5:9901"));
  CHECK_FALSE(answers("[2001:db8::6]:9901", "[2001:db8::5]:9901"));
  // A dual-stack socket reports an IPv4 client's address as IPv4-mapped.
  CHECK(answers("192.0.2.5:9901", "[::ffff:192.0.2.5]:9901"));
}

TEST_CASE("on loopback, localhost and every loopback literal are the listener") {
  for (const char* host : {"localhost", "LOCALHOST:9901", "localhost.:9901", "127.0.0.1:9901",
                           "127.0.0.2", "[::1]:9901", "[::1]", "[::ffff:127.0.0.1]:9901"}) {
    CAPTURE(host);
    CHECK(answers(host, "127.0.0.1:9901"));
    CHECK(answers(host, "[::1]:9901"));
  }
  // A name that resolves to 127.0.0.1 is what DNS rebinding looks like.
  for (const char* host : {"attacker.example", "attacker.example:9901", "localhost.example",
                           "sub.localhost", "0.0.0.0", "[::]:9901", "192.0.2.5:9901"}) {
    CAPTURE(host);
    CHECK_FALSE(answers(host, "127.0.0.1:9901"));
  }
  // Off loopback, localhost is somebody else.
  CHECK_FALSE(answers("localhost:9901", "192.0.2.5:9901"));
  CHECK_FALSE(answers("127.0.0.1:9901", "192.0.2.5:9901"));
}

TEST_CASE("admin.hosts adds names and literals, case-insensitively, any port") {
  const std::vector<std::string> hosts{"admin.example.com", "203.0.113.9", "2001:db8::9"};
  CHECK(answers("admin.example.com", "10.0.0.5:9901", hosts));
  CHECK(answers("ADMIN.Example.Com:9901", "10.0.0.5:9901", hosts));
  CHECK(answers("admin.example.com.:443", "10.0.0.5:9901", hosts));
  CHECK(answers("203.0.113.9:9901", "10.0.0.5:9901", hosts));
  CHECK(answers("[2001:db8:0:0::9]:9901", "10.0.0.5:9901", hosts));
  CHECK_FALSE(answers("other.example.com", "10.0.0.5:9901", hosts));
  CHECK_FALSE(answers("example.com", "10.0.0.5:9901", hosts));
  CHECK_FALSE(answers("evil.admin.example.com", "10.0.0.5:9901", hosts));
}

TEST_CASE("an Origin parses as a browser serialises it, anything else is no origin") {
  auto http = parseOrigin("http://127.0.0.1:9901");
  REQUIRE(http);
  CHECK_FALSE(http->https);
  CHECK(http->authority.host.text == "127.0.0.1");
  CHECK(http->authority.port == 9901);
  auto https = parseOrigin("HTTPS://Admin.Example.com");
  REQUIRE(https);
  CHECK(https->https);
  CHECK(https->authority.host.text == "admin.example.com");
  CHECK(https->authority.port == -1);
  CHECK(parseOrigin("http://[::1]:9901")->authority.host.text == "::1");
  for (const char* bad :
       {"null", "", "http://", "127.0.0.1:9901", "ftp://127.0.0.1", "file://", "http://a/",
        "http://127.0.0.1:9901/status", "http://user@127.0.0.1", "chrome-extension://abcdef",
        "http://127.0.0.1:9901, http://evil.example"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseOrigin(bad));
  }
}

TEST_CASE("same origin: the same host and port as the request's Host") {
  CHECK(sameOriginAs("http://127.0.0.1:9901", "127.0.0.1:9901"));
  CHECK(sameOriginAs("http://LOCALHOST:9901", "localhost:9901"));
  CHECK(sameOriginAs("http://[::1]:9901", "[0::1]:9901"));
  CHECK(sameOriginAs("http://admin.example.com", "admin.example.com:80"));
  CHECK(sameOriginAs("http://admin.example.com:80", "admin.example.com"));
  // Behind a TLS terminator the page is https and Host has no port.
  CHECK(sameOriginAs("https://admin.example.com", "admin.example.com"));
  CHECK_FALSE(sameOriginAs("https://admin.example.com", "admin.example.com:80"));
  // Another port on the same host is "same-site", not same-origin.
  CHECK_FALSE(sameOriginAs("http://127.0.0.1:8080", "127.0.0.1:9901"));
  CHECK_FALSE(sameOriginAs("http://localhost:9901", "127.0.0.1:9901"));
  CHECK_FALSE(sameOriginAs("http://evil.example", "127.0.0.1:9901"));
  CHECK_FALSE(sameOriginAs("null", "127.0.0.1:9901"));
}

TEST_CASE("Sec-Fetch-Site is same-origin or not") {
  CHECK(sameOriginFetch("same-origin"));
  CHECK(sameOriginFetch(" Same-Origin "));
  for (const char* other : {"same-site", "cross-site", "none", "", "same-origin, cross-site"}) {
    CAPTURE(other);
    CHECK_FALSE(sameOriginFetch(other));
  }
}

TEST_CASE("Content-Type is JSON with or without parameters") {
  CHECK(isJsonMediaType("application/json"));
  CHECK(isJsonMediaType("Application/JSON"));
  CHECK(isJsonMediaType("application/json; charset=utf-8"));
  CHECK(isJsonMediaType(" application/json ;charset=UTF-8"));
  // What a form or a no-cors fetch can send, and near misses.
  for (const char* other :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "",
        "application/json-seq", "application/jsonx", "text/json", "application/ld+json"}) {
    CAPTURE(other);
    CHECK_FALSE(isJsonMediaType(other));
  }
}

TEST_CASE("the bearer token check") {
  const std::string token = "s3cret-token-0123456789";
  CHECK(bearerTokenMatches(("Bearer " + token).c_str(), token));
  CHECK(bearerTokenMatches(("BEARER   " + token + " ").c_str(), token));
  CHECK_FALSE(bearerTokenMatches(nullptr, token));
  CHECK_FALSE(bearerTokenMatches("", token));
  CHECK_FALSE(bearerTokenMatches("Bearer", token));
  CHECK_FALSE(bearerTokenMatches("Bearer ", token));
  CHECK_FALSE(bearerTokenMatches(("Bearer" + token).c_str(), token));
  CHECK_FALSE(bearerTokenMatches(("Basic " + token).c_str(), token));
  CHECK_FALSE(bearerTokenMatches(("Bearer " + token.substr(1)).c_str(), token));
  CHECK_FALSE(bearerTokenMatches(("Bearer " + token + "0").c_str(), token));
  // No token configured matches nothing, not even an empty one.
  CHECK_FALSE(bearerTokenMatches("Bearer ", ""));
  CHECK_FALSE(bearerTokenMatches("Bearer x", ""));
}

TEST_CASE("Basic credentials match when their password is the token, whoever the user") {
  const std::string token = "s3cret-token-0123456789";
  // base64("ops:s3cret-token-0123456789"), base64(":s3cret-token-0123456789")
  CHECK(basicPasswordMatches("Basic b3BzOnMzY3JldC10b2tlbi0wMTIzNDU2Nzg5", token));
  CHECK(basicPasswordMatches("basic OnMzY3JldC10b2tlbi0wMTIzNDU2Nzg5", token));
  // base64("s3cret-token-0123456789:"): the token as user, no password.
  CHECK_FALSE(basicPasswordMatches("Basic czNjcmV0LXRva2VuLTAxMjM0NTY3ODk6", token));
  // base64("ops:s3cret-token-012345678"): one character short.
  CHECK_FALSE(basicPasswordMatches("Basic b3BzOnMzY3JldC10b2tlbi0wMTIzNDU2Nzg=", token));
  // base64("s3cret-token-0123456789"): no colon at all.
  CHECK_FALSE(basicPasswordMatches("Basic czNjcmV0LXRva2VuLTAxMjM0NTY3ODk=", token));
  CHECK_FALSE(basicPasswordMatches("Basic not*base64", token));
  CHECK_FALSE(basicPasswordMatches("Basic b3BzOnMzY3JldC10b2tlbi0wMTIzNDU2Nzg5=", token));
  CHECK_FALSE(basicPasswordMatches(("Bearer " + token).c_str(), token));
  CHECK_FALSE(basicPasswordMatches(nullptr, token));
  CHECK_FALSE(basicPasswordMatches("Basic Og==", ""));  // ":" against no token
}
