// Forwarding fields cannot be forged: through the real binary, what a
// server receives from a trusted proxy and from anyone else, byte for byte,
// and what the client gets back. Clients connect from 127.0.0.1 or
// 127.0.0.2, so a test trusts one loopback address and not the other.
#include <doctest/doctest.h>

#include "support/connection_recorder.h"
#include "support/forwarding_config.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

// A request carrying every forwarding field a client could forge.
const std::string kForged =
    "GET /pay HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 10.6.6.6\r\n"
    "X-Real-IP: 10.6.6.6\r\nForwarded: for=10.6.6.6;proto=https\r\n"
    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.test\r\nX-Forwarded-Port: 443\r\n"
    "X-Request-Id: forged-1\r\nAccept: */*\r\n\r\n";

// What the server received for `request` sent from `source` through a
// listener with the `listener` keys; the client must get the server's answer.
std::string receivedFor(const std::vector<std::string>& listener, const std::string& source,
                        const std::string& request) {
  ConnectionRecorder backend("b1");
  Proxy proxy(ForwardingConfig{.servers = {backend.port()}, .listener = listener}.yaml());
  Fd client = connectFrom(source, proxy.port("front"));
  REQUIRE(client);
  REQUIRE(writeAll(client.get(), request));
  CHECK(readRawResponse(client.get()) == proxiedAnswer("b1"));
  REQUIRE(backend.waitAnswered(1));
  return backend.received(0);
}

bool isGeneratedId(const std::string& id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST_CASE("from an untrusted client, every forwarding field is replaced by fulcrum's own") {
  // Trusting someone else, and (the default) trusting nobody.
  for (const std::vector<std::string>& listener :
       {std::vector<std::string>{"trusted_proxies: [127.0.0.2]"}, std::vector<std::string>{}}) {
    std::string seen = receivedFor(listener, "127.0.0.1", kForged);
    const std::string id = requestIdIn(seen);
    CHECK(isGeneratedId(id));  // the client's is not kept either
    CHECK(seen ==
          "GET /pay HTTP/1.1\r\nHost: test\r\nAccept: */*\r\nX-Forwarded-For: 127.0.0.1\r\n"
          "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: " +
              id + "\r\n\r\n");
  }
}

TEST_CASE("from a trusted proxy, X-Forwarded-For is appended to and its other fields are kept") {
  std::string seen = receivedFor({"trusted_proxies: [127.0.0.2]"}, "127.0.0.2", kForged);
  CHECK(
      seen ==
      "GET /pay HTTP/1.1\r\nHost: test\r\nX-Real-IP: 10.6.6.6\r\n"
      "Forwarded: for=10.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: bank.test\r\nX-Forwarded-Port: 443\r\nAccept: */*\r\n"
      "X-Forwarded-For: 10.6.6.6, 127.0.0.2\r\nVia: 1.1 fulcrum\r\nX-Request-Id: forged-1\r\n\r\n");
}

TEST_CASE("trust is by range: a CIDR that holds the client trusts it, one that does not does not") {
  ConnectionRecorder backend("b1");
  Proxy proxy(ForwardingConfig{.servers = {backend.port()},
                               .listener = {"trusted_proxies: [10.0.0.0/8, 127.0.0.0/31, "
                                            "'::1']"}}
                  .yaml());
  const std::string request =
      "GET / HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 192.0.2.1\r\nConnection: close\r\n\r\n";
  Fd inside = connectFrom("127.0.0.1", proxy.port("front"));
  REQUIRE(writeAll(inside.get(), request));
  CHECK(readRawResponse(inside.get()) == proxiedAnswer("b1", /*close=*/true));
  Fd outside = connectFrom("127.0.0.2", proxy.port("front"));
  REQUIRE(writeAll(outside.get(), request));
  CHECK(readRawResponse(outside.get()) == proxiedAnswer("b1", /*close=*/true));
  REQUIRE(backend.waitAnswered(2));
  const std::string seen = backend.receivedAll();
  const size_t second = seen.find("GET / HTTP/1.1", 1);
  REQUIRE(second != std::string::npos);
  CHECK(seen.substr(0, second).find("\r\nX-Forwarded-For: 192.0.2.1, 127.0.0.1\r\n") !=
        std::string::npos);
  CHECK(seen.substr(second).find("\r\nX-Forwarded-For: 127.0.0.2\r\n") != std::string::npos);
  CHECK(seen.substr(second).find("192.0.2.1") == std::string::npos);
}

TEST_CASE("request_id.trust_client keeps a client's request id, and nothing else it claims") {
  std::string seen = receivedFor({"request_id: { trust_client: true }"}, "127.0.0.1", kForged);
  CHECK(seen ==
        "GET /pay HTTP/1.1\r\nHost: test\r\nAccept: */*\r\nX-Forwarded-For: 127.0.0.1\r\n"
        "X-Forwarded-Proto: http\r\nVia: 1.1 fulcrum\r\nX-Request-Id: forged-1\r\n\r\n");
}

TEST_CASE(
    "fulcrum's own answer to an untrusted client carries its own request id, not the client's") {
  ConnectionRecorder backend("b1");
  ForwardingConfig config{.servers = {backend.port()}};
  config.listener = {"routes:", "  - { match: { path_prefix: /v1/ }, upstream: pool }"};
  std::string yaml = config.yaml();
  yaml.replace(yaml.find("    upstream: pool\n"), 19, "");  // no catch-all: the rest is 404
  Proxy proxy(yaml);
  Fd client = connectFrom("127.0.0.1", proxy.port("front"));
  REQUIRE(
      writeAll(client.get(), "GET /nowhere HTTP/1.1\r\nHost: t\r\nX-Request-Id: forged-2\r\n\r\n"));
  std::string answer = readRawResponse(client.get());
  const std::string id = requestIdIn(answer);
  CHECK(isGeneratedId(id));
  CHECK(answer.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(answer.find("forged-2") == std::string::npos);
  CHECK(answer.find("\"request_id\":\"" + id + "\"") != std::string::npos);
  CHECK(backend.connections() == 0);
}
