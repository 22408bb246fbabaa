// One framing for everything passed on, through the real proxy: what a
// server receives and what a client gets are compared byte for byte
// (RawBackend, HttpReader::raw), the fields fulcrum adds for forwarding
// aside. Requests here; responses are in response_framing_test.cc.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

const RawAnswer kOk{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};

std::string post(const std::string& fields, const std::string& body) {
  return "POST /pay HTTP/1.1\r\nHost: t\r\n" + fields + "\r\n" + body;
}

}  // namespace

TEST_CASE("framing: identical Content-Length values reach the server as one field") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  const uint16_t port = proxy.port("web");
  const std::vector<std::string> lengths = {"Content-Length: 5\r\nContent-Length: 5\r\n",
                                            "Content-Length: 5, 5\r\n", "Content-Length: 005\r\n",
                                            "Content-Length: 5\r\nX-A: 1\r\ncontent-length: 5\r\n"};
  for (const std::string& fields : lengths) {
    CAPTURE(fields);
    auto response = rawExchange(port, post(fields, "hello"));
    REQUIRE(response);
    CHECK(withoutForwardingFields(*response) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  }
  const std::vector<std::string> received = backend.requests();
  REQUIRE(received.size() == lengths.size());
  for (size_t i = 0; i < 3; ++i)
    CHECK(withoutForwardingFields(received[i]) ==
          "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  // In the place of the first one, the others gone.
  CHECK(withoutForwardingFields(received[3]) ==
        "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello");
}

TEST_CASE("framing: differing Content-Length values stay a 400 and reach no server") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  for (const char* fields :
       {"Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5, 6\r\n"}) {
    CAPTURE(fields);
    CHECK(rawStatus(rawExchange(proxy.port("web"), post(fields, "hello!"))) == 400);
  }
  CHECK(backend.connections() == 0);
}

TEST_CASE("framing: a chunked request body is re-framed, sizes written by fulcrum") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  const std::string head =
      "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n";
  const std::string body =
      "004;name=\"v;1\" ; flag\r\nWiki\r\n5 ; a = b\r\npedia\r\n0;end\r\nX-Checksum: 1\r\n\r\n";
  const std::string expected =
      "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
  // Streamed: the head first (fulcrum connects at once), then the rest of
  // the body cut inside a size line; then the whole request at once.
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(writeAll(client.get(), head + body.substr(0, 10)));
  REQUIRE(waitUntil([&] { return backend.connections() == 1; }, 10s));
  REQUIRE(writeAll(client.get(), body.substr(10)));
  HttpReader reader(client.get());
  CHECK(rawStatus(reader.raw(true)) == 200);
  CHECK(rawStatus(rawExchange(proxy.port("web"), head + body)) == 200);

  const std::vector<std::string> received = backend.requests();
  REQUIRE(received.size() == 2);
  for (const std::string& request : received) CHECK(withoutForwardingFields(request) == expected);
}

TEST_CASE("framing: a chunk-size line outside the grammar gets 400 and never reaches a server") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  const std::string te = "Transfer-Encoding: chunked\r\n";
  for (const char* line : {"5;", "5 ;", "5;a@b", "5;a=b@c", "5;a=b c", "5;a=\"b", "5;a=\"b\\\"",
                           "5 ", "5\t", "5;a=b ", "0x5", "5 5"}) {
    CAPTURE(line);
    auto response =
        rawExchange(proxy.port("web"), post(te, std::string(line) + "\r\nhello\r\n0\r\n\r\n"));
    REQUIRE(response);
    CHECK(rawStatus(response) == 400);
    CHECK(rawField(*response, "Connection") == "close");
  }
  CHECK(backend.connections() == 0);

  // A bad line that comes after the request went to a server: 400, and the
  // server never gets a whole request.
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(writeAll(client.get(), post(te, "5\r\nhello\r\n")));
  REQUIRE(waitUntil([&] { return backend.connections() == 1; }, 10s));
  REQUIRE(writeAll(client.get(), "3;x=\"y\r\nabc\r\n0\r\n\r\n"));
  HttpReader reader(client.get());
  CHECK(rawStatus(reader.raw(true)) == 400);
  CHECK(reader.atEof());
  CHECK(backend.requests().empty());
}

TEST_CASE("framing: a request target with a fragment gets 400 and reaches no server") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  for (const char* target : {"/path#frag", "/pay?id=1#", "http://t/a#b"}) {
    CAPTURE(target);
    auto response = rawExchange(proxy.port("web"),
                                std::string("GET ") + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(rawStatus(response) == 400);
  }
  CHECK(rawStatus(rawExchange(proxy.port("web"), "GET /path HTTP/1.1\r\nHost: t\r\n\r\n")) == 200);
  REQUIRE(backend.requests().size() == 1);
  CHECK(withoutForwardingFields(backend.requests()[0]) == "GET /path HTTP/1.1\r\nHost: t\r\n\r\n");
}

TEST_CASE("framing: a transfer coding other than chunked in a request gets 501") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  auto response =
      rawExchange(proxy.port("web"), post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"));
  CHECK(rawStatus(response) == 501);
  CHECK(response->find("\"error\":\"not_implemented\"") != std::string::npos);
  CHECK(backend.connections() == 0);
}

TEST_CASE("framing: Connection cannot strip the framing of a request") {
  RawBackend backend(kOk);
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  auto response = rawExchange(
      proxy.port("web"),
      post("Connection: Transfer-Encoding, Content-Length\r\nTransfer-Encoding: chunked\r\n",
           "2\r\nhi\r\n0\r\n\r\n"));
  CHECK(rawStatus(response) == 200);
  REQUIRE(backend.requests().size() == 1);
  CHECK(withoutForwardingFields(backend.requests()[0]) ==
        "POST /pay HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
}
