// Upstreams with proxy_protocol, through the real binary: every server
// connection opens with a PROXY header naming the real client (the one a
// trusted balancer named, else the peer), for TCP and HTTP; an HTTP server
// connection so opened serves that client connection only; health checks
// open with a LOCAL header; source_ip hashing uses the client a header
// named. Expected headers are written out byte by byte here.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>

#include "support/connection_recorder.h"
#include "support/forwarding_config.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string u16(uint16_t value) {
  return std::string{static_cast<char>(value >> 8), static_cast<char>(value & 0xff)};
}

// A v2 PROXY header for TCP over IPv4 from `source`:`source_port` to
// `destination`:`destination_port`.
std::string v2Tcp4(const std::string& source, uint16_t source_port, const std::string& destination,
                   uint16_t destination_port) {
  in_addr from{};
  in_addr to{};
  REQUIRE(inet_pton(AF_INET, source.c_str(), &from) == 1);
  REQUIRE(inet_pton(AF_INET, destination.c_str(), &to) == 1);
  return kV2Signature + std::string("\x21\x11\x00\x0c", 4) +
         std::string(reinterpret_cast<const char*>(&from), 4) +
         std::string(reinterpret_cast<const char*>(&to), 4) + u16(source_port) +
         u16(destination_port);
}

const std::string kLocalV2 = kV2Signature + std::string("\x20\x00\x00\x00", 4);

uint16_t localPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// Sends `bytes` then FIN on a TCP listener, reads the backend's name line
// and the end; returns when the backend has seen the FIN too.
void tcpRoundTrip(Proxy& proxy, ConnectionRecorder& backend, const std::string& source,
                  const std::string& bytes, uint16_t* client_port = nullptr) {
  Fd client = connectFrom(source, proxy.port("front"));
  REQUIRE(client);
  if (client_port != nullptr) *client_port = localPort(client.get());
  REQUIRE(writeAll(client.get(), bytes));
  shutdown(client.get(), SHUT_WR);
  std::string answer;
  REQUIRE(readToEof(client.get(), answer));
  CHECK(answer == backend.name() + "\n");
  REQUIRE(backend.waitClosed(0));
}

}  // namespace

TEST_CASE("tcp: a balancer's PROXY header in, fulcrum's v2 header out, naming the same client") {
  ConnectionRecorder backend("b1", ConnectionRecorder::Kind::Tcp);
  Proxy proxy(
      ForwardingConfig{.protocol = "tcp",
                       .servers = {backend.port()},
                       .listener = {"proxy_protocol: required", "trusted_proxies: [127.0.0.1]"},
                       .upstream = {"proxy_protocol: v2"}}
          .yaml());
  tcpRoundTrip(proxy, backend, "127.0.0.1",
               "PROXY TCP4 203.0.113.7 192.0.2.10 40000 5432\r\nhello");
  CHECK(backend.received(0) == v2Tcp4("203.0.113.7", 40000, "192.0.2.10", 5432) + "hello");
}

TEST_CASE("tcp: without a header in, the v1 header out names the peer and the listener's address") {
  ConnectionRecorder backend("b1", ConnectionRecorder::Kind::Tcp);
  Proxy proxy(ForwardingConfig{
      .protocol = "tcp", .servers = {backend.port()}, .upstream = {"proxy_protocol: v1"}}
                  .yaml());
  uint16_t client_port = 0;
  tcpRoundTrip(proxy, backend, "127.0.0.2", "hello", &client_port);
  CHECK(backend.received(0) == "PROXY TCP4 127.0.0.2 127.0.0.1 " + std::to_string(client_port) +
                                   " " + std::to_string(proxy.port("front")) + "\r\nhello");
}

TEST_CASE("http: one v2 header per server connection, which serves one client connection only") {
  ConnectionRecorder backend("b1");
  Proxy proxy(
      ForwardingConfig{.servers = {backend.port()}, .upstream = {"proxy_protocol: v2"}}.yaml());
  const uint16_t listener = proxy.port("front");
  auto request = [](const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
  };
  Fd alice = connectFrom("127.0.0.1", listener);
  REQUIRE(writeAll(alice.get(), request("/a1")));
  CHECK(readRawResponse(alice.get()) == proxiedAnswer("b1"));
  REQUIRE(writeAll(alice.get(), request("/a2")));
  CHECK(readRawResponse(alice.get()) == proxiedAnswer("b1"));
  Fd bob = connectFrom("127.0.0.2", listener);
  REQUIRE(writeAll(bob.get(), request("/b1")));
  CHECK(readRawResponse(bob.get()) == proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(3));
  CHECK(backend.connections() == 2);
  const std::string to_alice = backend.received(0);
  CHECK(to_alice.rfind(v2Tcp4("127.0.0.1", localPort(alice.get()), "127.0.0.1", listener), 0) == 0);
  CHECK(to_alice.find("GET /a1 ") != std::string::npos);
  CHECK(to_alice.find("GET /a2 ") != std::string::npos);
  CHECK(to_alice.find("QUIT", 20) == std::string::npos);  // one header only
  const std::string to_bob = backend.received(1);
  CHECK(to_bob.rfind(v2Tcp4("127.0.0.2", localPort(bob.get()), "127.0.0.1", listener), 0) == 0);
  CHECK(to_bob.find("GET /b1 ") != std::string::npos);
  // Alice leaves: the server connection that names her closes too.
  alice = Fd();
  CHECK(backend.waitClosed(0));
  CHECK(backend.received(1) == to_bob);
}

TEST_CASE("health checks of a proxy_protocol upstream open with a LOCAL header") {
  ConnectionRecorder http_server("b1");
  ConnectionRecorder tcp_server("t1", ConnectionRecorder::Kind::Tcp);
  Proxy proxy(ForwardingConfig{.servers = {http_server.port()},
                               .upstream = {"proxy_protocol: v2",
                                            "health_check: { type: http, path: /healthz, "
                                            "interval: 100ms, rise: 1 }"}}
                  .yaml());
  REQUIRE(http_server.waitAnswered(1));
  CHECK(http_server.received(0) == kLocalV2 + "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" +
                                       std::to_string(http_server.port()) +
                                       "\r\nUser-Agent: fulcrum-health-check\r\n"
                                       "Connection: close\r\n\r\n");
  // The server is up after its check, once the worker has the news (the
  // first host-set publication): a request goes through.
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  Fd client = connectLoopback(proxy.port("front"));
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(readRawResponse(client.get()) == proxiedAnswer("b1"));

  Proxy tcp_checked(ForwardingConfig{
      .protocol = "tcp",
      .servers = {tcp_server.port()},
      .upstream = {"proxy_protocol: v2", "health_check: { type: tcp, interval: 1h }"}}
                        .yaml());
  REQUIRE(tcp_server.waitClosed(0));
  CHECK(tcp_server.received(0) == kLocalV2);
}

TEST_CASE("source_ip hashing hashes the client a PROXY header names, not the balancer") {
  ConnectionRecorder first("b1");
  ConnectionRecorder second("b2");
  Proxy proxy(
      ForwardingConfig{.servers = {first.port(), second.port()},
                       .listener = {"proxy_protocol: required", "trusted_proxies: [127.0.0.1]"},
                       .upstream = {"balance: ring_hash", "hash_key: source_ip"}}
          .yaml());
  // Each of 20 clients twice, all through the same balancer address.
  std::map<int, std::string> served_by;
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= 20; ++i) {
      Fd client = connectFrom("127.0.0.1", proxy.port("front"));
      REQUIRE(writeAll(client.get(), "PROXY TCP4 10.0.0." + std::to_string(i) +
                                         " 192.0.2.10 4000 80\r\nGET /" + std::to_string(i) +
                                         " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
      std::string answer = readRawResponse(client.get());
      const std::string name = answer == proxiedAnswer("b1", true) ? "b1" : "b2";
      CHECK((answer == proxiedAnswer("b1", true) || answer == proxiedAnswer("b2", true)));
      if (round == 0)
        served_by[i] = name;
      else
        CHECK_MESSAGE(served_by[i] == name, "client 10.0.0." << i << " moved");
    }
  }
  int on_first = 0;
  for (const auto& [client, name] : served_by) on_first += name == "b1";
  // By the balancer's address, all 20 would share one server.
  CHECK(on_first > 0);
  CHECK(on_first < 20);
}
