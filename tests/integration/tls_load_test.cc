// TLS listeners through the real binary under weight: 10 MiB each way over
// one connection arrive intact, and 200 clients stalled in their
// handshakes neither hold up a new client nor outlive handshake_timeout.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/recording_backend.h"
#include "support/test_pki.h"
#include "support/tls_client.h"

using namespace fulcrum::test;

namespace {

constexpr const char* kName = "api.example.com";

std::string request(const std::string& method, const std::string& path,
                    const std::string& body = "") {
  std::string head = method + " " + path + " HTTP/1.1\r\nHost: " + kName + "\r\n";
  if (!body.empty()) head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return head + "\r\n" + body;
}

}  // namespace

TEST_CASE("tls listener: 10 MiB up and 10 MiB down arrive intact over one connection") {
  constexpr size_t kBody = 10 * 1024 * 1024;
  const std::string upload = patternBytes(kBody, 17);
  const std::string download = patternBytes(kBody, 18);
  TestPki pki;
  auto api = pki.issue("api", {kName});
  HttpBackend backend("b1", [&](const HttpMessage& received, int) {
    return received.method == "POST" ? httpResponse(200, download)
                                     : httpResponse(200, "b1 " + received.path + "\n");
  });
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api)));
  TlsClient client(proxy.port("web"), kName, {pki.ca()});

  auto answered = client.exchange(request("POST", "/upload", upload));
  REQUIRE_MESSAGE(answered, client.error());
  CHECK(answered->status == 200);
  CHECK(answered->body.size() == kBody);
  CHECK(hexHash(bodyHash(answered->body)) == hexHash(bodyHash(download)));
  auto received = backend.requests();
  REQUIRE(received.size() == 1);
  CHECK(received[0].body.size() == kBody);
  CHECK(hexHash(bodyHash(received[0].body)) == hexHash(bodyHash(upload)));

  // The same connection carries on after them.
  auto next = client.exchange(request("GET", "/after"));
  REQUIRE_MESSAGE(next, client.error());
  CHECK(next->body == "b1 /after\n");
  CHECK(backend.connections() == 1);
}

TEST_CASE(
    "tls listener: 200 clients stalled mid-handshake hold up no new client and are closed at "
    "handshake_timeout") {
  constexpr int kStalled = 200;
  TestPki pki;
  auto api = pki.issue("api", {kName});
  HttpBackend backend("b1");
  // 3s: long enough for 200 connects and a new client's handshake even
  // under a sanitizer on a busy machine, well short of the default 10s.
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api, ", handshake_timeout: 3s")));
  const uint16_t port = proxy.port("web");

  // A third say nothing, a third send half a ClientHello, a third all of
  // it: the proxy answers those and waits for a Finished that never comes.
  const std::string hello = clientHello(kName);
  const auto helloPart = [&](int i) { return hello.substr(0, hello.size() * (i % 3) / 2); };
  const auto started = std::chrono::steady_clock::now();
  std::vector<Fd> stalled;
  for (int i = 0; i < kStalled; ++i) {
    Fd fd = connectLoopback(port);
    REQUIRE(fd);
    REQUIRE(writeAll(fd.get(), helloPart(i)));
    stalled.push_back(std::move(fd));
  }

  // A new client is served while every one of them is still waiting.
  TlsClient client(port, kName, {pki.ca()});
  auto answered = client.exchange(request("GET", "/ok"));
  REQUIRE_MESSAGE(answered, client.error());
  CHECK(answered->status == 200);
  CHECK(std::count_if(stalled.begin(), stalled.end(),
                      [](const Fd& fd) { return stillOpen(fd.get()); }) == kStalled);

  // Then handshake_timeout closes each, well before the default 10s would;
  // those that sent a whole ClientHello got the proxy's answer first.
  const auto until = started + std::chrono::seconds(9);
  int closed = 0, answered_as_sent = 0;
  for (int i = 0; i < kStalled; ++i) {
    auto bytes = bytesBeforeClose(stalled[i].get(), until);
    closed += bytes.has_value();
    answered_as_sent += bytes && (*bytes > 0) == (i % 3 == 2);
  }
  CHECK(closed == kStalled);
  CHECK(answered_as_sent == kStalled);
  CHECK(backend.requests().size() == 1);
}
