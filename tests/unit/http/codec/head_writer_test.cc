#include <doctest/doctest.h>
#include <event2/buffer.h>

#include <string>

#include "http/codec/head_writer.h"

using namespace fulcrum::http;

namespace {

std::string drain(evbuffer* buffer) {
  std::string out(evbuffer_get_length(buffer), '\0');
  evbuffer_remove(buffer, out.data(), out.size());
  return out;
}

std::string rewriteRequest(const std::string& raw, std::string_view request_id = "id-1",
                           bool trusted = false) {
  RequestHead head;
  ParseError error;
  REQUIRE(parseRequest(raw, Limits{}, head, error) == ParseResult::Complete);
  evbuffer* out = evbuffer_new();
  writeRequestHead(out, head, ForwardedFor{"192.0.2.7", "http", request_id, trusted, false, {}});
  std::string text = drain(out);
  evbuffer_free(out);
  return text;
}

std::string rewriteResponse(const std::string& raw, ClientConnection connection,
                            bool http10_client = false, bool request_was_head = false) {
  ResponseHead head;
  ParseError error;
  REQUIRE(parseResponse(raw, Limits{}, request_was_head, head, error) == ParseResult::Complete);
  evbuffer* out = evbuffer_new();
  writeResponseHead(out, head, connection, 0, responseBodyOut(head, http10_client));
  std::string text = drain(out);
  evbuffer_free(out);
  return text;
}

}  // namespace

TEST_CASE("an HTTP/1.0 request stays HTTP/1.0 on its way to the server") {
  CHECK(rewriteRequest("GET / HTTP/1.0\r\n\r\n").rfind("GET / HTTP/1.0\r\n", 0) == 0);
}

TEST_CASE("a request is rewritten to origin-form HTTP/1.1 with forwarding fields") {
  CHECK(rewriteRequest(
            "GET http://api.test/a?b=1 HTTP/1.1\r\nHost: api.test\r\nAccept: */*\r\n\r\n") ==
        "GET /a?b=1 HTTP/1.1\r\nHost: api.test\r\nAccept: */*\r\nX-Forwarded-For: 192.0.2.7\r\n"
        "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: id-1\r\n\r\n");
}

TEST_CASE("hop-by-hop request fields and those named in Connection are dropped") {
  std::string out = rewriteRequest(
      "GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"
      "TE: trailers\r\nProxy-Connection: close\r\nUpgrade: h2c\r\nX-Keep: 2\r\n\r\n");
  for (const char* gone :
       {"Connection:", "X-Hop:", "Keep-Alive:", "TE:", "Proxy-Connection:", "Upgrade:"})
    CHECK_MESSAGE(out.find(gone) == std::string::npos, gone);
  CHECK(out.find("X-Keep: 2\r\n") != std::string::npos);
}

TEST_CASE("Connection cannot strip the framing fields or Host") {
  std::string out = rewriteRequest(
      "POST / HTTP/1.1\r\nHost: t\r\nConnection: Content-Length, Host, Transfer-Encoding\r\n"
      "Content-Length: 3\r\n\r\n");
  CHECK(out.find("Content-Length: 3\r\n") != std::string::npos);
  CHECK(out.find("Host: t\r\n") != std::string::npos);
}

TEST_CASE("identical Content-Length values become one field in the place of the first") {
  CHECK(rewriteRequest("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 05, 5\r\nX-A: 1\r\n"
                       "content-length: 5\r\n\r\n") ==
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nX-A: 1\r\nX-Forwarded-For: "
        "192.0.2.7\r\nX-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: id-1\r\n\r\n");
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\n",
                        ClientConnection::KeepAlive11) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
}

TEST_CASE("a chunked request says so in one field fulcrum writes") {
  CHECK(rewriteRequest("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ,\r\n"
                       "transfer-encoding: CHUNKED\r\n\r\n")
            .find("Host: t\r\nTransfer-Encoding: chunked\r\nX-Forwarded-For") != std::string::npos);
}

TEST_CASE("the idempotency header survives Connection, and is reported only when sent") {
  RequestHead head;
  ParseError error;
  const std::string raw =
      "POST /pay HTTP/1.1\r\nHost: t\r\nIdempotency-Key: pay-123\r\n"
      "Connection: keep-alive, Idempotency-Key\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(parseRequest(raw, Limits{}, head, error) == ParseResult::Complete);
  evbuffer* out = evbuffer_new();
  CHECK(writeRequestHead(out, head, ForwardedFor{"192.0.2.7", "http", "id", false, false, {}},
                         "idempotency-key"));
  CHECK(drain(out).find("\r\nIdempotency-Key: pay-123\r\n") != std::string::npos);
  // Without the name the Connection header strips it, and nothing is keyed.
  CHECK_FALSE(
      writeRequestHead(out, head, ForwardedFor{"192.0.2.7", "http", "id", false, false, {}}));
  CHECK(drain(out).find("Idempotency-Key") == std::string::npos);
  const std::string empty = "POST /pay HTTP/1.1\r\nHost: t\r\nIdempotency-Key:\r\n\r\n";
  REQUIRE(parseRequest(empty, Limits{}, head, error) == ParseResult::Complete);
  CHECK_FALSE(writeRequestHead(out, head, ForwardedFor{"192.0.2.7", "http", "id", false, false, {}},
                               "Idempotency-Key"));
  evbuffer_free(out);
}

TEST_CASE("a response's framing field follows how fulcrum sends its body") {
  // Codings before chunked are named again, chunked is fulcrum's.
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
                        "\r\nX-A: 1\r\n\r\n",
                        ClientConnection::KeepAlive11) ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\n\r\n");
  // A final coding other than chunked: chunked by fulcrum, never "chunked, deflate".
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, deflate\r\n\r\n",
                        ClientConnection::KeepAlive11) ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: deflate, chunked\r\n\r\n");
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
                        ClientConnection::KeepAlive11) ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  // An HTTP/1.0 client gets the data until close, and no framing field.
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                        ClientConnection::Close,
                        true) == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  // A bodiless response's fields describe another message: kept as sent.
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n",
                        ClientConnection::KeepAlive11, false,
                        true) == "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n");
}

TEST_CASE("from a trusted proxy, X-Forwarded-For fields merge and are appended to, the rest kept") {
  std::string out = rewriteRequest(
      "GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nX-Real-IP: 10.0.0.1\r\n"
      "Forwarded: for=10.0.0.1;proto=https\r\nX-Forwarded-Host: shop.test\r\n"
      "X-Request-Id: upstream-id\r\n\r\n",
      "upstream-id", /*trusted=*/true);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n"
        "Forwarded: for=10.0.0.1;proto=https\r\nX-Forwarded-Host: shop.test\r\n"
        "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7\r\nVia: 1.1 fulcrum\r\n"
        "X-Request-Id: upstream-id\r\n\r\n");
}

TEST_CASE("from anyone else, every forwarding field is replaced by fulcrum's own") {
  std::string out = rewriteRequest(
      "GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n"
      "X-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\n"
      "X-Forwarded-Host: evil.test\r\nX-Forwarded-Port: 443\r\n"
      "X-Forwarded-Client-Cert: Hash=forged\r\nX-Request-Id: forged\r\n"
      "X-Forwardedness: kept\r\nX-Forwarded: kept\r\n\r\n",
      "chosen");
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: t\r\nX-Forwardedness: kept\r\nX-Forwarded: kept\r\n"
        "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\n"
        "X-Request-Id: chosen\r\n\r\n");
}

TEST_CASE("a trusted proxy that names no protocol gets fulcrum's X-Forwarded-Proto") {
  std::string out = rewriteRequest("GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
                                   "id-1", /*trusted=*/true);
  CHECK(out ==
        "GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n"
        "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: id-1\r\n\r\n");
}

TEST_CASE("an upgrade request keeps Upgrade and says Connection: upgrade") {
  std::string out = rewriteRequest(
      "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  CHECK(out.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(out.find("Connection: upgrade\r\n") != std::string::npos);
}

TEST_CASE("a client request id is used only when there is exactly one valid one") {
  RequestHead head;
  ParseError error;
  std::string one = "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123_x.y:z\r\n\r\n";
  REQUIRE(parseRequest(one, Limits{}, head, error) == ParseResult::Complete);
  CHECK(clientRequestId(head) == "abc-123_x.y:z");
  std::string two = "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: a\r\nX-Request-Id: b\r\n\r\n";
  REQUIRE(parseRequest(two, Limits{}, head, error) == ParseResult::Complete);
  CHECK(clientRequestId(head).empty());
  std::string bad = "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: a b\r\n\r\n";
  REQUIRE(parseRequest(bad, Limits{}, head, error) == ParseResult::Complete);
  CHECK(clientRequestId(head).empty());
  CHECK_FALSE(validRequestId(std::string(129, 'a')));
  CHECK(validRequestId(std::string(128, 'a')));
}

TEST_CASE("a response loses hop-by-hop fields and says what happens to the client connection") {
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\nConnection: keep-alive\r\n"
                        "Content-Length: 0\r\n\r\n",
                        ClientConnection::Close) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(rewriteResponse("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                        ClientConnection::KeepAlive11) ==
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  CHECK(rewriteResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                        ClientConnection::KeepAlive10) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("X-Forwarded-Client-Cert is fulcrum's own where the listener verifies certificates") {
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Client-Cert: Hash=forged\r\n\r\n";
  RequestHead head;
  ParseError error;
  REQUIRE(parseRequest(raw, Limits{}, head, error) == ParseResult::Complete);
  auto write = [&](bool trusted, bool verifies, std::string_view cert) {
    evbuffer* out = evbuffer_new();
    writeRequestHead(out, head, ForwardedFor{"192.0.2.7", "https", "id", trusted, verifies, cert});
    std::string text = drain(out);
    evbuffer_free(out);
    return text;
  };
  // Verified: ours replaces the client's, even a trusted proxy's.
  std::string verified = write(true, true, "Hash=ab;Subject=\"CN=alice\"");
  CHECK(verified.find("forged") == std::string::npos);
  CHECK(verified.find("\r\nX-Forwarded-Client-Cert: Hash=ab;Subject=\"CN=alice\"\r\n") !=
        std::string::npos);
  // Verifying, but this client sent no certificate: none at all.
  CHECK(write(true, true, "").find("X-Forwarded-Client-Cert") == std::string::npos);
  // Not verifying: a trusted proxy's passes, an untrusted client's does not.
  CHECK(write(true, false, "").find("X-Forwarded-Client-Cert: Hash=forged") != std::string::npos);
  CHECK(write(false, false, "").find("X-Forwarded-Client-Cert") == std::string::npos);
}
