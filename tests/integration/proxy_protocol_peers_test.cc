// The PROXY protocol against a real peer: HAProxy (Debian's), started by
// the test on a free loopback port and stopped by PID. HAProxy in front
// sends fulcrum v1 or v2 headers (send-proxy, send-proxy-v2); HAProxy
// behind reads fulcrum's (accept-proxy) and says which client it sees.
// The client connects from 127.0.0.2, so the address that arrives is
// known and is not the one every hop shares.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>

#include "support/connection_recorder.h"
#include "support/forwarding_config.h"
#include "support/http.h"
#include "support/proxy.h"
#include "support/temp_dir.h"

using namespace fulcrum::test;

namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

class Haproxy {
 public:
  // `sections`: the config after global and defaults; "@PORT@" is the port
  // HAProxy listens on.
  Haproxy(const std::string& mode, std::string sections) : port_(freeLoopbackPort()) {
    const std::string port = std::to_string(port_);
    for (size_t at; (at = sections.find("@PORT@")) != std::string::npos;)
      sections.replace(at, 6, port);
    const std::string path =
        dir_.write("haproxy.cfg", "global\n  maxconn 256\n  pidfile " + dir_.path() +
                                      "/haproxy.pid\ndefaults\n  mode " + mode +
                                      "\n  timeout connect 5s\n  timeout client 30s\n"
                                      "  timeout server 30s\n" +
                                      sections);
    process_ =
        std::make_unique<ChildProcess>(std::vector<std::string>{kHaproxy, "-db", "-f", path});
    if (!waitAccepting(*process_, port_)) FAIL("haproxy did not start");
  }
  uint16_t port() const { return port_; }

 private:
  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

// HAProxy in front of fulcrum's listener "front" (PROXY required from
// 127.0.0.1): one request from 127.0.0.2 through both; returns what the
// backend received.
std::string throughHaproxyInFront(const std::string& send_proxy) {
  ConnectionRecorder backend("b1");
  Proxy proxy(
      ForwardingConfig{.servers = {backend.port()},
                       .listener = {"proxy_protocol: required", "trusted_proxies: [127.0.0.1]"}}
          .yaml());
  Haproxy haproxy("tcp", "listen front\n  bind 127.0.0.1:@PORT@\n  server fulcrum 127.0.0.1:" +
                             std::to_string(proxy.port("front")) + " " + send_proxy + "\n");
  Fd client = connectFrom("127.0.0.2", haproxy.port());
  REQUIRE(client);
  REQUIRE(
      writeAll(client.get(), "GET /pay HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.6.6.6\r\n\r\n"));
  CHECK(readRawResponse(client.get()) == proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(1));
  return backend.receivedAll();
}

// The body HAProxy behind fulcrum answers with: the client and destination
// its PROXY header named.
// One GET from 127.0.0.2 to fulcrum's listener "front", and its response.
HttpMessage getFrom127002(Proxy& proxy, uint16_t* client_port = nullptr) {
  Fd client = connectFrom("127.0.0.2", proxy.port("front"));
  REQUIRE(client);
  if (client_port != nullptr) {
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    getsockname(client.get(), reinterpret_cast<sockaddr*>(&local), &length);
    *client_port = ntohs(local.sin_port);
  }
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  HttpReader reader(client.get());
  auto response = reader.response();
  REQUIRE(response);
  return *response;
}

const std::string kSaysWho =
    "frontend behind\n  bind 127.0.0.1:@PORT@ accept-proxy\n"
    "  http-request return status 200 content-type text/plain "
    "lf-string \"%[src]:%[src_port] %[dst]:%[dst_port]\"\n";

}  // namespace

TEST_CASE("HAProxy send-proxy-v2 in front: the server sees HAProxy's client") {
  REQUIRE_MESSAGE(std::filesystem::exists(kHaproxy), "haproxy is installed by make test-deps");
  std::string seen = throughHaproxyInFront("send-proxy-v2");
  CHECK(seen ==
        "GET /pay HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 127.0.0.2\r\n"
        "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: " +
            requestIdIn(seen) + "\r\n\r\n");
}

TEST_CASE("HAProxy send-proxy (v1) in front: the server sees HAProxy's client") {
  REQUIRE_MESSAGE(std::filesystem::exists(kHaproxy), "haproxy is installed by make test-deps");
  std::string seen = throughHaproxyInFront("send-proxy");
  CHECK(seen.find("\r\nX-Forwarded-For: 127.0.0.2\r\n") != std::string::npos);
  CHECK(seen.find("10.6.6.6") == std::string::npos);
}

TEST_CASE("HAProxy accept-proxy behind an HTTP upstream with proxy_protocol: v2, checks included") {
  REQUIRE_MESSAGE(std::filesystem::exists(kHaproxy), "haproxy is installed by make test-deps");
  Haproxy haproxy("http", kSaysWho);
  // Traffic flows only once a check (with its LOCAL header) has passed.
  Proxy proxy(ForwardingConfig{.servers = {haproxy.port()},
                               .upstream = {"proxy_protocol: v2",
                                            "health_check: { type: http, path: /, "
                                            "interval: 200ms, rise: 1 }"}}
                  .yaml());
  REQUIRE(proxy.process().waitForText("update 1 applied: 1 primary"));
  uint16_t client_port = 0;
  HttpMessage response = getFrom127002(proxy, &client_port);
  CHECK(response.status == 200);
  CHECK(response.body == "127.0.0.2:" + std::to_string(client_port) +
                             " 127.0.0.1:" + std::to_string(proxy.port("front")));
}

TEST_CASE("HAProxy accept-proxy behind a TCP upstream with proxy_protocol: v2") {
  REQUIRE_MESSAGE(std::filesystem::exists(kHaproxy), "haproxy is installed by make test-deps");
  Haproxy haproxy("http", kSaysWho);
  Proxy proxy(ForwardingConfig{
      .protocol = "tcp", .servers = {haproxy.port()}, .upstream = {"proxy_protocol: v2"}}
                  .yaml());
  uint16_t client_port = 0;
  HttpMessage response = getFrom127002(proxy, &client_port);
  CHECK(response.status == 200);
  CHECK(response.body == "127.0.0.2:" + std::to_string(client_port) +
                             " 127.0.0.1:" + std::to_string(proxy.port("front")));
}
