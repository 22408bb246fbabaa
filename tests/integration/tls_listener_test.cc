// TLS termination through the real binary, with curl and openssl s_client
// as the clients and certificates made by the openssl CLI: SNI picks the
// certificate, the protocol floor holds, X-Forwarded-Proto says https, and
// a client that never finishes its handshake is closed by
// handshake_timeout.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "support/curl.h"
#include "support/http.h"
#include "support/http_configs.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/test_pki.h"

using namespace fulcrum::test;

TEST_CASE("tls listener: curl gets its answer, verified, with X-Forwarded-Proto https") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api)));
  const uint16_t port = proxy.port("web");
  CurlResult got = curlGet(port, "api.example.com", pki.ca(), "/pay");
  CHECK_MESSAGE(got.exit == 0, got.output);
  CHECK(got.output.find("b1 /pay") != std::string::npos);
  CHECK(got.output.find("200 0") != std::string::npos);
  auto requests = backend.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].field("X-Forwarded-Proto") == "https");
}

TEST_CASE("tls listener: SNI picks the certificate, an unknown name gets the first") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  auto shop = pki.issue("shop", {"*.shop.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), "{ certificates: [ { certificate: " + api.certificate +
                                                ", key: " + api.key +
                                                " }, { certificate: " + shop.certificate +
                                                ", key: " + shop.key + " } ] }"));
  const uint16_t port = proxy.port("web");
  // Each name verifies only against its own certificate.
  CHECK(curlGet(port, "api.example.com", pki.ca(), "/a").exit == 0);
  CHECK(curlGet(port, "eu.shop.example.com", pki.ca(), "/b").exit == 0);
  // An unknown name gets api's certificate, which does not name it: curl refuses.
  CurlResult unknown = curlGet(port, "other.example.com", pki.ca(), "/c");
  CHECK(unknown.exit == 60);  // CURLE_PEER_FAILED_VERIFICATION
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("tls listener: TLS 1.0 and 1.1 are refused, min_version 1.3 refuses 1.2") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy modern(tlsHttpConfig(backend.port(), tlsMapping(api, ", min_version: \"1.3\"")));
  const uint16_t port = modern.port("web");
  CHECK(curlGet(port, "api.example.com", pki.ca(), "/13", {"--tlsv1.3"}).exit == 0);
  CHECK(curlGet(port, "api.example.com", pki.ca(), "/12", {"--tls-max", "1.2"}).exit != 0);

  Proxy fallback(tlsHttpConfig(backend.port(), tlsMapping(api)));
  const uint16_t default_port = fallback.port("web");
  CHECK(curlGet(default_port, "api.example.com", pki.ca(), "/12", {"--tls-max", "1.2"}).exit == 0);
  CHECK(curlGet(default_port, "api.example.com", pki.ca(), "/11", {"--tls-max", "1.1"}).exit != 0);
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("tls listener: a client that stalls in its handshake is closed at handshake_timeout") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api, ", handshake_timeout: 300ms")));
  const uint16_t port = proxy.port("web");
  // Connects and says nothing: no ClientHello.
  Fd stalled = connectLoopback(port);
  REQUIRE(stalled);
  // A new client is not held up meanwhile.
  CHECK(curlGet(port, "api.example.com", pki.ca(), "/ok").exit == 0);
  // The proxy closes it, well before the test's own deadline.
  const auto started = std::chrono::steady_clock::now();
  CHECK(closedByPeer(stalled.get(), std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("tls listener: a TCP listener terminates TLS and passes the bytes on") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(
      "global: { workers: 1, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n"
      "  - name: web\n    listen: 127.0.0.1:0\n    protocol: tcp\n    upstream: pool\n"
      "    tls: { certificate: " +
      api.certificate + ", key: " + api.key +
      " }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:" +
      std::to_string(backend.port()) + " }\n");
  CurlResult got = curlGet(proxy.port("web"), "api.example.com", pki.ca(), "/raw");
  CHECK_MESSAGE(got.exit == 0, got.output);
  CHECK(got.output.find("b1 /raw") != std::string::npos);
  auto requests = backend.requests();
  REQUIRE(requests.size() == 1);
  // Bytes passed on as they were: no header of fulcrum's.
  CHECK_FALSE(requests[0].field("X-Forwarded-Proto").has_value());
}
