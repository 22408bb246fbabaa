// Responses are held to the same framing rules as requests, through the
// real proxy: what the client gets is compared byte for byte with what
// fulcrum must write (the fields it adds for forwarding aside), whatever
// framing the server used.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

const std::string kGet = "GET /r HTTP/1.1\r\nHost: t\r\n\r\n";

// The data of a chunked body as fulcrum must write it: bare hexadecimal
// sizes, no extension, no trailer. nullopt when it is anything else.
std::optional<std::string> strictChunkedData(const std::string& body) {
  std::string data;
  size_t at = 0;
  for (;;) {
    const size_t end = body.find("\r\n", at);
    if (end == std::string::npos || end == at) return std::nullopt;
    const std::string size_line = body.substr(at, end - at);
    if (size_line.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    const size_t size = std::stoul(size_line, nullptr, 16);
    at = end + 2;
    if (size == 0) return body.substr(at) == "\r\n" ? std::optional(data) : std::nullopt;
    if (body.compare(at + size, 2, "\r\n") != 0) return std::nullopt;
    data += body.substr(at, size);
    at += size + 2;
  }
}

// A server that answers one request with `head` and `data`, then closes:
// the body ends when the connection does.
TcpBackend::Handler closeDelimited(const std::string& head, const std::string& data) {
  return [head, data](int fd) {
    HttpReader reader(fd);
    if (reader.raw(false)) writeAll(fd, head + data);
  };
}

// Sends a chunked response's head and first chunk, then, once the test
// says the client has the head, a chunk line fulcrum must refuse.
struct BreaksAfterHead {
  Gate head_read;
  std::unique_ptr<TcpBackend> server;
  BreaksAfterHead() {
    server = std::make_unique<TcpBackend>([this](int fd) {
      HttpReader reader(fd);
      if (!reader.raw(false)) return;
      writeAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      head_read.wait();
      writeAll(fd, "5 \r\nworld\r\n0\r\n\r\n");
    });
  }
  ~BreaksAfterHead() { head_read.release(); }
};

}  // namespace

TEST_CASE("response framing: a chunked response is re-framed and its trailers dropped") {
  RawBackend backend(
      RawAnswer{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                "0004;x=1\r\nWiki\r\n00005 ; a=\"b c\"\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n"});
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  for (int i = 0; i < 2; ++i) {  // and the client connection carries the next request
    REQUIRE(writeAll(client.get(), kGet));
    auto response = reader.raw(true);
    REQUIRE(response);
    CHECK(withoutForwardingFields(*response) ==
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
          "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n");
  }
}

TEST_CASE("response framing: identical Content-Length values reach the client as one field") {
  RawBackend backend(RawAnswer{
      "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok"});
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  auto response = rawExchange(proxy.port("web"), kGet);
  REQUIRE(response);
  CHECK(withoutForwardingFields(*response) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok");
}

TEST_CASE("response framing: an invalid chunk line that came with the head is a 502") {
  for (const char* line : {"5;", "5 ", "5;a@b", "5;a=\"b", "zz", "5\n"}) {
    CAPTURE(line);
    RawBackend backend(RawAnswer{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" +
                                 std::string(line) + "\r\nhello\r\n0\r\n\r\n"});
    Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
    auto response = rawExchange(proxy.port("web"), kGet);
    REQUIRE(response);
    CHECK(rawStatus(response) == 502);
    CHECK(response->find("\"error\":\"bad_gateway\"") != std::string::npos);
    CHECK(response->find("X-A") == std::string::npos);  // nothing of the server's head
    CHECK(backend.requests().size() == 1);              // answered, so not sent again
  }
}

TEST_CASE("response framing: an invalid chunk line after the head went out closes the client") {
  BreaksAfterHead backend;
  Proxy proxy(HttpConfig{.servers = {backend.server->port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(writeAll(client.get(), kGet));
  HttpReader reader(client.get());
  auto head = reader.rawHead();
  REQUIRE(head);
  CHECK(rawStatus(head) == 200);
  backend.head_read.release();
  auto rest = reader.rest();
  REQUIRE(rest);  // the connection closed
  CHECK(*rest == "5\r\nhello\r\n");
}

TEST_CASE(
    "response framing: a final coding other than chunked is read to the close and re-chunked") {
  const std::string data = patternBytes(70000, 7);
  struct Case {
    const char* coding;
    const char* sent;  // the client's Transfer-Encoding
  };
  for (const Case& c : {Case{"chunked, deflate", "deflate, chunked"},
                        Case{"chunked, identity", "chunked"}, Case{"gzip", "gzip, chunked"}}) {
    CAPTURE(c.coding);
    TcpBackend server(closeDelimited(
        std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: ") + c.coding + "\r\n\r\n", data));
    Proxy proxy(HttpConfig{.servers = {server.port()}}.yaml());
    Fd client = connectLoopback(proxy.port("web"));
    HttpReader reader(client.get());
    for (int i = 0; i < 2; ++i) {  // the client connection stays usable
      REQUIRE(writeAll(client.get(), kGet));
      auto response = reader.raw(true);
      REQUIRE(response);
      const size_t body = response->find("\r\n\r\n") + 4;
      CHECK(withoutForwardingFields(response->substr(0, body)) ==
            std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: ") + c.sent + "\r\n\r\n");
      CHECK(strictChunkedData(response->substr(body)) == data);
    }
    CHECK(server.accepted() == 2);
  }
}

TEST_CASE("response framing: an HTTP/1.0 client gets a chunked response's data, ended by close") {
  RawBackend backend(RawAnswer{
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"});
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  auto response = rawExchange(proxy.port("web"), "GET /r HTTP/1.0\r\nHost: t\r\n\r\n");
  REQUIRE(response);
  CHECK(withoutForwardingFields(*response) ==
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nWikipedia");
}
