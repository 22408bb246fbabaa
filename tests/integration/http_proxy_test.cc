// HTTP/1.1 forwarding through the real binary: headers, keep-alive on both
// sides, pipelining, bodies in every framing, HEAD/204/304, 100-continue,
// upgrade, routes. Backends are threads of this test on 127.0.0.1.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

std::optional<HttpMessage> roundTrip(int fd, HttpReader& reader, const std::string& request,
                                     bool head = false) {
  if (!writeAll(fd, request)) return std::nullopt;
  return reader.response(head);
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("a GET is forwarded with X-Forwarded-For, X-Forwarded-Proto, Via and a request id") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto response = roundTrip(client.get(), reader, get("/pay?x=1"));
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "b1 /pay?x=1\n");
  CHECK(response->field("X-Backend") == "b1");
  auto requests = backend.requests();
  REQUIRE(requests.size() == 1);
  const HttpMessage& seen = requests[0];
  CHECK(seen.start_line == "GET /pay?x=1 HTTP/1.1");
  CHECK(seen.field("Host") == "test");
  CHECK(seen.field("X-Forwarded-For") == "127.0.0.1");
  CHECK(seen.field("X-Forwarded-Proto") == "http");
  CHECK(seen.field("Via") == "1.1 fulcrum");
  auto id = seen.field("X-Request-Id");
  REQUIRE(id);
  CHECK(id->size() == 32);
  CHECK(id->find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("without trusted_proxies a client's request id and forwarding fields are replaced") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto response = roundTrip(client.get(), reader,
                            get("/",
                                "X-Request-Id: pay-123\r\nX-Forwarded-For: 203.0.113.9\r\n"
                                "X-Forwarded-Proto: https\r\n"));
  REQUIRE(response);
  auto requests = backend.requests();
  const HttpMessage& seen = requests.at(0);
  CHECK(seen.field("X-Request-Id") != "pay-123");
  CHECK(seen.field("X-Forwarded-For") == "127.0.0.1");  // ours, not the client's claim
  CHECK(seen.count("X-Forwarded-For") == 1);
  CHECK(seen.field("X-Forwarded-Proto") == "http");
}

TEST_CASE("hop-by-hop fields and those named in Connection are not forwarded") {
  HttpBackend backend("b1", [](const HttpMessage&, int) {
    return httpResponse(200, "ok",
                        "Keep-Alive: timeout=5\r\nConnection: X-Internal\r\nX-Internal: 1\r\n");
  });
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto response = roundTrip(
      client.get(), reader,
      "POST / HTTP/1.1\r\nHost: test\r\nConnection: keep-alive, X-Secret, Content-Length\r\n"
      "X-Secret: s\r\nKeep-Alive: timeout=9\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
      "Content-Length: 2\r\n\r\nhi");
  REQUIRE(response);
  auto requests = backend.requests();
  const HttpMessage& seen = requests.at(0);
  for (const char* gone : {"Connection", "X-Secret", "Keep-Alive", "TE", "Proxy-Connection"})
    CHECK_MESSAGE(!seen.field(gone), gone);
  CHECK(seen.field("Content-Length") == "2");  // Connection cannot strip framing
  CHECK(seen.body == "hi");
  CHECK_FALSE(response->field("Keep-Alive"));
  CHECK_FALSE(response->field("X-Internal"));
  CHECK_FALSE(response->field("Connection"));
}

TEST_CASE("keep-alive on both sides: many requests, one connection to the server") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  for (int i = 0; i < 20; ++i) {
    auto response = roundTrip(client.get(), reader, get("/" + std::to_string(i)));
    REQUIRE(response);
    CHECK(response->body == "b1 /" + std::to_string(i) + "\n");
  }
  CHECK(backend.connections() == 1);
  // A second client reuses the pooled server connection too.
  Fd other = connectLoopback(proxy.port("web"));
  HttpReader other_reader(other.get());
  REQUIRE(roundTrip(other.get(), other_reader, get("/again")));
  CHECK(backend.connections() == 1);
}

TEST_CASE("pipelined requests are answered in order") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  std::string burst;
  for (int i = 0; i < 10; ++i) burst += get("/p" + std::to_string(i));
  REQUIRE(writeAll(client.get(), burst));
  for (int i = 0; i < 10; ++i) {
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->body == "b1 /p" + std::to_string(i) + "\n");
  }
}

// A client that asked to close sends nothing more (RFC 9112, 9.6), so the
// proxy closes its socket as soon as the answer is out, without a lingering
// read for the client's FIN. Seen from the client: bytes sent after the
// answer meet a closed socket, which resets the connection (a lingering
// close would read and drop them).
TEST_CASE("Connection: close from the client closes after the response, not waiting for its FIN") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto response = roundTrip(client.get(), reader, get("/", "Connection: close\r\n"));
  REQUIRE(response);
  CHECK(response->field("Connection") == "close");
  CHECK(reader.atEof());
  REQUIRE(::send(client.get(), "X", 1, MSG_NOSIGNAL) == 1);
  CHECK(waitUntil(
      [&] {
        pollfd watch{client.get(), POLLIN, 0};
        return ::poll(&watch, 1, 0) == 1 && (watch.revents & POLLERR) != 0;
      },
      std::chrono::seconds(10)));
}

TEST_CASE("Connection: close from the server ends that server connection, not the client's") {
  HttpBackend backend("b1", [](const HttpMessage& request, int) {
    return httpResponse(200, request.path, "Connection: close\r\n");
  });
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  for (int i = 0; i < 3; ++i) {
    auto response = roundTrip(client.get(), reader, get("/c" + std::to_string(i)));
    REQUIRE(response);
    CHECK(response->body == "/c" + std::to_string(i));
    CHECK_FALSE(response->field("Connection"));
  }
  CHECK(backend.connections() == 3);
}

TEST_CASE("chunked bodies stream both ways") {
  HttpBackend backend("b1", [](const HttpMessage& request, int) {
    std::string body = "got " + std::to_string(request.body.size()) + ":" + request.body;
    return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + "4\r\n" +
           body.substr(0, 4) + "\r\n" +
           [&] {
             char size[16];
             snprintf(size, sizeof(size), "%zx", body.size() - 4);
             return std::string(size);
           }() +
           ";ext=1\r\n" + body.substr(4) + "\r\n0\r\nX-Trailer: t\r\n\r\n";
  });
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto response = roundTrip(client.get(), reader,
                            "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  REQUIRE(response);
  CHECK(response->chunked);
  CHECK(response->body == "got 11:hello world");
  CHECK(backend.requests().at(0).chunked);
  // The connection is still good for the next request.
  auto next = roundTrip(client.get(), reader, get("/after"));
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("HEAD, 204 and 304 responses carry no body and keep the connection usable") {
  HttpBackend backend("b1", [](const HttpMessage& request, int) {
    if (request.method == "HEAD")
      return std::string("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    if (request.path == "/204") return std::string("HTTP/1.1 204 No Content\r\n\r\n");
    if (request.path == "/304")
      return std::string("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    return httpResponse(200, "end");
  });
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto head = roundTrip(client.get(), reader, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", true);
  REQUIRE(head);
  CHECK(head->field("Content-Length") == "1000");
  auto no_content = roundTrip(client.get(), reader, get("/204"));
  REQUIRE(no_content);
  CHECK(no_content->status == 204);
  auto not_modified = roundTrip(client.get(), reader, get("/304"));
  REQUIRE(not_modified);
  CHECK(not_modified->status == 304);
  auto last = roundTrip(client.get(), reader, get("/"));
  REQUIRE(last);
  CHECK(last->body == "end");
  CHECK(backend.connections() == 1);
}

TEST_CASE("Expect: 100-continue gets the server's 100 before the body is sent") {
  // The fake HTTP backend reads the body before answering, so this server
  // answers 100 by hand.
  TcpBackend raw([](int fd) {
    readHeadBytes(fd);
    writeAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    std::string body;
    readExactly(fd, body, 4);
    writeAll(fd, httpResponse(201, "got " + body));
  });
  Proxy proxy(HttpConfig{.servers = {raw.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(),
                   "POST /pay HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                   "Content-Length: 4\r\n\r\n"));
  auto interim = reader.response();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(writeAll(client.get(), "data"));
  auto final_response = reader.response();
  REQUIRE(final_response);
  CHECK(final_response->status == 201);
  CHECK(final_response->body == "got data");
}

TEST_CASE("an upgrade becomes a byte tunnel after the 101") {
  TcpBackend raw([](int fd) {
    HttpReader reader(fd);
    auto request = reader.request();
    if (!request || request->field("Upgrade") != "websocket") return;
    writeAll(
        fd,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    std::string frame;
    if (readExactly(fd, frame, 5)) writeAll(fd, "echo:" + frame);
  });
  Proxy proxy(HttpConfig{.servers = {raw.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(),
                   "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n\r\n"));
  auto switched = reader.response();
  REQUIRE(switched);
  CHECK(switched->status == 101);
  CHECK(switched->field("Upgrade") == "websocket");
  REQUIRE(writeAll(client.get(), "hello"));
  std::string echoed;
  CHECK(readExactly(client.get(), echoed, 10));
  CHECK(echoed == "echo:hello");
}

TEST_CASE("routes pick the upstream by host and path prefix, no match is 404") {
  HttpBackend payments("payments");
  HttpBackend wild("wild");
  HttpBackend fallback("fallback");
  HttpConfig config{.servers = {payments.port()}};
  config.routes =
      "      - { match: { path_prefix: /v1/payments }, upstream: pool }\n"
      "      - { match: { host: '*.example.com' }, upstream: wild }\n"
      "      - { match: { host: api.test, path_prefix: /v2 }, upstream: fallback }\n";
  config.extra_upstreams =
      "  wild:\n    servers: [ { address: 127.0.0.1:" + std::to_string(wild.port()) +
      " } ]\n"
      "  fallback:\n    servers: [ { address: 127.0.0.1:" +
      std::to_string(fallback.port()) + " } ]\n";
  Proxy proxy(config.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto ask = [&](const std::string& host, const std::string& path) {
    auto response =
        roundTrip(client.get(), reader, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    REQUIRE(response);
    return response->status == 200 ? *response->field("X-Backend")
                                   : std::to_string(response->status);
  };
  CHECK(ask("any", "/v1/payments/42") == "payments");
  CHECK(ask("shop.example.com:8080", "/x") == "wild");
  CHECK(ask("API.TEST", "/v2/refunds") == "fallback");
  CHECK(ask("example.com", "/x") == "404");
  CHECK(ask("api.test", "/v1") == "404");
}

TEST_CASE("HTTP/1.0 clients: kept open only when they ask, and sent on as HTTP/1.0") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  auto kept = roundTrip(client.get(), reader, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  REQUIRE(kept);
  CHECK(kept->status == 200);
  CHECK(kept->field("Connection") == "keep-alive");
  auto last = roundTrip(client.get(), reader, "GET /c HTTP/1.0\r\n\r\n");
  REQUIRE(last);
  CHECK(last->field("Connection") == "close");
  CHECK(reader.atEof());
  auto requests = backend.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].start_line == "GET /k HTTP/1.0");
}

TEST_CASE("a server that answers before reading the whole body keeps both connections usable") {
  constexpr size_t kBodySize = 256 * 1024;
  TcpBackend early([](int fd) {
    for (;;) {
      std::string head = readHeadBytes(fd);
      if (head.empty()) return;
      // Answer at once, then read (discard) the body, as nginx does.
      if (!writeAll(fd, httpResponse(200, "early"))) return;
      std::string body;
      if (!readExactly(fd, body, kBodySize)) return;
    }
  });
  Proxy proxy(HttpConfig{.servers = {early.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  const std::string body = patternBytes(kBodySize, 9);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(writeAll(client.get(), "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                       std::to_string(kBodySize) + "\r\n\r\n" + body));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->body == "early");
    CHECK_FALSE(response->field("Connection"));
  }
  CHECK(early.accepted() == 1);
}
