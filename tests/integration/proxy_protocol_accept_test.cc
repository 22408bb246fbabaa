// Listeners that read the PROXY protocol, through the real binary: the
// client a trusted balancer names is the one X-Forwarded-For, trust and
// the access log use; anything else closes the connection before a byte
// reaches a server, and is counted. The test is the balancer: it connects
// from 127.0.0.1 (trusted) or 127.0.0.2 (not) and writes the header itself.
#include <doctest/doctest.h>

#include "support/connection_recorder.h"
#include "support/forwarding_config.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
const std::string kRequest =
    "GET /pay HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.6.6.6\r\nX-Request-Id: forged\r\n\r\n";

// What the server gets for kRequest from a client that is not trusted.
std::string forwardedFor(const std::string& client, const std::string& id) {
  return "GET /pay HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: " + client +
         "\r\nX-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: " + id + "\r\n\r\n";
}

std::string listenerYaml(ConnectionRecorder& backend, const std::string& mode,
                         const std::string& trusted = "[127.0.0.1]",
                         const std::string& timeout = "5s") {
  return ForwardingConfig{.servers = {backend.port()},
                          .listener = {"proxy_protocol: " + mode, "trusted_proxies: " + trusted,
                                       "timeouts: { proxy_header: " + timeout + " }"},
                          .access_log = "stdout"}
      .yaml();
}

// Sends `bytes` from `source`; returns what the client got back.
std::string exchange(Proxy& proxy, const std::string& source, const std::string& bytes) {
  Fd client = connectFrom(source, proxy.port("front"));
  REQUIRE(client);
  REQUIRE(writeAll(client.get(), bytes));
  return readRawResponse(client.get());
}

// Sends `bytes` from `source` and expects the connection closed with no
// answer at all.
void expectClosed(Proxy& proxy, const std::string& source, const std::string& bytes) {
  Fd client = connectFrom(source, proxy.port("front"));
  REQUIRE(client);
  if (!bytes.empty()) writeAll(client.get(), bytes);  // may race the close
  CHECK(closedByPeer(client.get()));
}

std::optional<double> rejected(Proxy& proxy, const std::string& reason) {
  HttpMessage page = httpGet(proxy.adminPort(), "/metrics");
  return sample(page.body, "fulcrum_proxy_protocol_rejected_total{listener=\"front\",reason=\"" +
                               reason + "\"}");
}

}  // namespace

TEST_CASE("a trusted balancer's v1 and v2 headers name the client for the server and the log") {
  ConnectionRecorder backend("b1");
  Proxy proxy(listenerYaml(backend, "required"));
  CHECK(
      exchange(proxy, "127.0.0.1", "PROXY TCP4 203.0.113.7 192.0.2.10 40000 8080\r\n" + kRequest) ==
      proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(1));
  std::string seen = backend.receivedAll();
  // The client it names is not trusted: its own X-Forwarded-For is replaced.
  CHECK(seen == forwardedFor("203.0.113.7", requestIdIn(seen)));
  CHECK(proxy.process().waitForText("\"client\":\"203.0.113.7:40000\""));

  // v2, TCP over IPv6: [2001:db8::7]:5555 -> [2001:db8::1]:443, with a TLV.
  std::string v2 = kV2Signature + std::string("\x21\x21\x00\x2a", 4) +
                   std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x07" +
                   std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01" +
                   std::string("\x15\xb3\x01\xbb", 4) + std::string("\x04\x00\x03xyz", 6);
  REQUIRE(v2.size() == 16 + 42);
  CHECK(exchange(proxy, "127.0.0.1", v2 + kRequest) == proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(2));
  seen = backend.receivedAll().substr(seen.size());
  CHECK(seen == forwardedFor("2001:db8::7", requestIdIn(seen)));
  CHECK(proxy.process().waitForText("\"client\":\"[2001:db8::7]:5555\""));
}

TEST_CASE("a client that a PROXY header names as a trusted proxy keeps its forwarding fields") {
  ConnectionRecorder backend("b1");
  Proxy proxy(listenerYaml(backend, "required", "[127.0.0.1, 10.1.1.1]"));
  CHECK(exchange(proxy, "127.0.0.1", "PROXY TCP4 10.1.1.1 192.0.2.10 40000 8080\r\n" + kRequest) ==
        proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(1));
  CHECK(backend.receivedAll() ==
        "GET /pay HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.6.6.6, 10.1.1.1\r\n"
        "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: forged\r\n\r\n");
}

TEST_CASE("a v2 LOCAL header (the balancer's own connection) leaves the peer as the client") {
  ConnectionRecorder backend("b1");
  Proxy proxy(listenerYaml(backend, "required"));
  std::string local = kV2Signature + std::string("\x20\x00\x00\x00", 4);
  CHECK(exchange(proxy, "127.0.0.1", local + "GET /pay HTTP/1.1\r\nHost: t\r\n\r\n") ==
        proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(1));
  CHECK(backend.receivedAll().find("\r\nX-Forwarded-For: 127.0.0.1\r\n") != std::string::npos);
}

TEST_CASE(
    "required: untrusted, missing, malformed and late headers close the connection, counted") {
  ConnectionRecorder backend("b1");
  Proxy proxy(listenerYaml(backend, "required", "[127.0.0.1]", "300ms"));
  const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.10 40000 8080\r\n";
  expectClosed(proxy, "127.0.0.2", header + kRequest);  // untrusted peer: closed unread
  expectClosed(proxy, "127.0.0.1", kRequest);           // no header
  expectClosed(proxy, "127.0.0.1", "PROXY TCP4 203.0.113.7 192.0.2.10 99999 8080\r\n" + kRequest);
  expectClosed(proxy, "127.0.0.1", std::string(108, 'P').replace(0, 6, "PROXY "));  // > 107
  expectClosed(proxy, "127.0.0.1", "PROXY TCP4 203.0.113.7");  // then nothing: proxy_header
  CHECK(rejected(proxy, "untrusted") == 1);
  CHECK(rejected(proxy, "missing") == 1);
  CHECK(rejected(proxy, "malformed") == 2);
  CHECK(rejected(proxy, "timeout") == 1);
  CHECK(backend.connections() == 0);
  CHECK(proxy.process().waitForText("closing connection from 127.0.0.2:"));

  // A balancer's TCP check (connect, then close) is not a rejection.
  { Fd check = connectFrom("127.0.0.1", proxy.port("front")); }
  CHECK(pollUntil(
      [&] {
        HttpMessage page = httpGet(proxy.adminPort(), "/metrics");
        return sample(page.body, "fulcrum_downstream_connections_total{listener=\"front\"}") == 6 &&
               sample(page.body, "fulcrum_downstream_connections_active{listener=\"front\"}") == 0;
      },
      kDeadline, 5ms, 100ms));
  CHECK(rejected(proxy, "missing") == 1);
  CHECK(rejected(proxy, "malformed") == 2);
}

TEST_CASE("optional: a trusted peer may omit the header, an untrusted one may not send one") {
  ConnectionRecorder backend("b1");
  Proxy proxy(listenerYaml(backend, "optional"));
  const std::string header = "PROXY TCP4 203.0.113.7 192.0.2.10 40000 8080\r\n";
  CHECK(exchange(proxy, "127.0.0.1", header + "GET /a HTTP/1.1\r\nHost: t\r\n\r\n") ==
        proxiedAnswer("b1"));
  CHECK(exchange(proxy, "127.0.0.1", "GET /b HTTP/1.1\r\nHost: t\r\n\r\n") == proxiedAnswer("b1"));
  CHECK(exchange(proxy, "127.0.0.2", "GET /c HTTP/1.1\r\nHost: t\r\n\r\n") == proxiedAnswer("b1"));
  expectClosed(proxy, "127.0.0.2", header + "GET /d HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(backend.waitAnswered(3));
  const std::string seen = backend.receivedAll();
  auto forwardedFor = [&](const std::string& path) {
    const size_t at = seen.find("GET " + path + " ");
    REQUIRE(at != std::string::npos);
    const size_t field = seen.find("X-Forwarded-For: ", at);
    return seen.substr(field + 17, seen.find("\r\n", field) - field - 17);
  };
  CHECK(forwardedFor("/a") == "203.0.113.7");
  CHECK(forwardedFor("/b") == "127.0.0.1");
  CHECK(forwardedFor("/c") == "127.0.0.2");
  CHECK(seen.find("GET /d ") == std::string::npos);
  CHECK(rejected(proxy, "untrusted") == 1);
  CHECK(rejected(proxy, "missing") == 0);
}
