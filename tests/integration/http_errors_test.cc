// What the proxy answers itself: malformed requests never reach a server,
// limits, timeouts, and the 502/503/504 of failing servers.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

struct BadRequest {
  const char* what;
  std::string bytes;
  int status;
};

std::optional<HttpMessage> send(uint16_t port, const std::string& bytes) {
  Fd client = connectLoopback(port);
  if (!client || !writeAll(client.get(), bytes)) return std::nullopt;
  HttpReader reader(client.get());
  auto response = reader.response();
  if (response && response->field("Connection") == "close") CHECK(reader.atEof());
  return response;
}

}  // namespace

TEST_CASE("malformed requests get their 4xx, close, and never reach a server") {
  const std::string long_target(9000, 'a');
  std::string many_fields;
  for (int i = 0; i < 101; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<BadRequest> cases = {
      {"Content-Length and Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"differing Content-Length",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"non-digit Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc",
       400},
      {"Transfer-Encoding not ending in chunked",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"unknown Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost: t\r\nX-A : 1\r\n\r\n", 400},
      {"control character in a value",
       std::string("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n"), 400},
      {"NUL in a value", std::string("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", 35), 400},
      {"bare LF line ending", "GET / HTTP/1.1\nHost: t\n\n", 400},
      {"bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400},
      {"invalid method character", "G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"invalid field name", "GET / HTTP/1.1\r\nHost: t\r\nX@A: 1\r\n\r\n", 400},
      {"absolute-form target whose host differs from Host",
       "GET http://other/ HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       400},
      {"chunk size overflow",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
       400},
      {"chunk extension over the limit",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
           std::string(2000, 'e') + "\r\na\r\n0\r\n\r\n",
       400},
      {"whitespace after a chunk size",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
       400},
      {"a bare semicolon in a chunk line",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
       400},
      {"a coding before chunked",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"a fragment in the target", "GET /a#b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"CONNECT", "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", 400},
      {"HTTP/2.0 version", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 400},
      {"too long a target", "GET /" + long_target + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"too many fields", "GET / HTTP/1.1\r\nHost: t\r\n" + many_fields + "\r\n", 431},
      {"too large a head",
       "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(40000, 'b') + "\r\n\r\n", 431},
  };
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  uint16_t port = proxy.port("web");
  for (const auto& bad : cases) {
    CAPTURE(bad.what);
    auto response = send(port, bad.bytes);
    REQUIRE(response);
    CHECK(response->status == bad.status);
    CHECK(response->field("Content-Type") == "application/json");
    CHECK(response->body.find("\"request_id\":\"") != std::string::npos);
  }
  CHECK(backend.connections() == 0);
}

TEST_CASE("a body over limits.body gets 413") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .limits = "{ body: 1k }"}.yaml());
  uint16_t port = proxy.port("web");
  auto declared = send(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n");
  REQUIRE(declared);
  CHECK(declared->status == 413);
  CHECK(backend.connections() == 0);
  std::string chunk(1500, 'x');
  auto streamed =
      send(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5dc\r\n" + chunk +
                     "\r\n0\r\n\r\n");
  REQUIRE(streamed);
  CHECK(streamed->status == 413);
  CHECK(backend.connections() == 0);
}

TEST_CASE("a client that sends its head too slowly gets 408") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .client_header_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "));
  HttpReader reader(client.get());
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 408);
  CHECK(reader.atEof());
  CHECK(backend.connections() == 0);
}

TEST_CASE("an idle keep-alive connection is closed after client_idle") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .client_idle_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(reader.response());
  CHECK(reader.atEof());
}

TEST_CASE("every server refusing gives 503 with Retry-After") {
  uint16_t down = 0;
  Fd refused = refusingPort(down);
  Proxy proxy(HttpConfig{.servers = {down}}.yaml());
  auto response = send(proxy.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status == 503);
  CHECK(response->field("Retry-After") == "1");
}

TEST_CASE("the proxy's own 503 closes the connection when the client asked to") {
  uint16_t down = 0;
  Fd refused = refusingPort(down);
  Proxy proxy(HttpConfig{.servers = {down}}.yaml());
  for (const char* request :
       {"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"}) {
    auto response = send(proxy.port("web"), request);  // which checks that the close follows
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(response->field("Connection") == "close");
  }
}

TEST_CASE("a refused server is skipped before anything is sent") {
  uint16_t down = 0;
  Fd refused = refusingPort(down);
  HttpBackend backend("good");
  Proxy proxy(HttpConfig{.servers = {down, backend.port()}}.yaml());
  for (int i = 0; i < 4; ++i) {
    auto response = send(proxy.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(response);
    CHECK(response->status == 200);
  }
}

TEST_CASE("a server that answers garbage gives 502") {
  TcpBackend garbage([](int fd) {
    HttpReader reader(fd);
    if (reader.request()) writeAll(fd, "SMTP ready\r\n\r\n");
  });
  Proxy proxy(HttpConfig{.servers = {garbage.port()}}.yaml());
  auto response = send(proxy.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status == 502);
}

TEST_CASE("a server that closes before answering gives 502, never a re-send") {
  TcpBackend closer([](int fd) {
    HttpReader reader(fd);
    reader.request();  // and close
  });
  Proxy proxy(HttpConfig{.servers = {closer.port()}}.yaml());
  auto response =
      send(proxy.port("web"), "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
  REQUIRE(response);
  CHECK(response->status == 502);
  CHECK(closer.accepted() == 1);
}

TEST_CASE("a server that does not answer in time gives 504") {
  TcpBackend silent([](int fd) {
    HttpReader reader(fd);
    reader.request();
    std::string ignored;
    readToEof(fd, ignored);
  });
  Proxy proxy(HttpConfig{.servers = {silent.port()}, .response_timeout = "300ms"}.yaml());
  auto response = send(proxy.port("web"), "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status == 504);
}

TEST_CASE("a pooled connection the server closed is replaced without the client noticing") {
  // Answers one request per connection, then closes without saying so.
  HttpBackend backend("b1", [](const HttpMessage& request, int fd) {
    writeAll(fd, httpResponse(200, request.path));
    shutdown(fd, SHUT_RDWR);
    return std::string();
  });
  Proxy proxy(HttpConfig{.servers = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(writeAll(client.get(), "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "/" + std::to_string(i));
  }
  CHECK(backend.connections() == 5);
}

TEST_CASE("after every kind of HTTP exchange the proxy drains and exits 0, leaking nothing") {
  // Under the ASan build a leak at exit turns the exit status non-zero.
  HttpBackend backend("b1");
  uint16_t down = 0;
  Fd refused = refusingPort(down);
  HttpConfig config{.servers = {backend.port()}, .access_log = "stdout"};
  config.routes =
      "      - { match: { path_prefix: /down }, upstream: dead }\n"
      "      - { match: { path_prefix: /ok }, upstream: pool }\n";
  config.extra_upstreams =
      "  dead:\n    servers: [ { address: 127.0.0.1:" + std::to_string(down) + " } ]\n";
  Proxy proxy(config.yaml());
  uint16_t port = proxy.port("web");
  Fd client = connectLoopback(port);
  HttpReader reader(client.get());
  for (const char* request :
       {"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", "GET /down HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /none HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /ok HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"}) {
    REQUIRE(writeAll(client.get(), request));
    REQUIRE(reader.response());
  }
  // An idle keep-alive connection (one request answered), closed by the drain.
  Fd idle = connectLoopback(port);
  HttpReader idle_reader(idle.get());
  REQUIRE(writeAll(idle.get(), "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(idle_reader.response());
  Fd broken = connectLoopback(port);
  REQUIRE(writeAll(broken.get(), "GET / HTT"));  // a head cut short
  proxy.process().signal(SIGTERM);
  CHECK(idle_reader.atEof());
  broken = Fd();
  client = Fd();
  CHECK(proxy.process().waitExit() == 0);
}

TEST_CASE("a 408 after a keep-alive request carries its own request id") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .client_header_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: first-1\r\n\r\n"));
  REQUIRE(reader.response());
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHo"));
  auto timed_out = reader.response();
  REQUIRE(timed_out);
  CHECK(timed_out->status == 408);
  auto id = timed_out->field("X-Request-Id");
  REQUIRE(id);
  CHECK(*id != "first-1");
  CHECK(timed_out->body.find("\"request_id\":\"" + *id + "\"") != std::string::npos);
}

TEST_CASE("the response timeout starts when the request is sent, so a slow upload is not a 504") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .response_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab"));
  // Twice the response timeout passes with half a body sent: nothing may
  // come back yet (no 504, no close).
  CHECK_FALSE(reader.atEof(600ms));
  REQUIRE(writeAll(client.get(), "cd"));
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(backend.requests().at(0).body == "abcd");
}

TEST_CASE("a request body that stalls gets 408 after client_body") {
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .client_body_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(
      writeAll(client.get(), "POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n{\"a"));
  HttpReader reader(client.get());
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 408);
  CHECK(reader.atEof());
}
