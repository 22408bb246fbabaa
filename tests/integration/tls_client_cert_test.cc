// Client certificates on a TLS listener (client_verify), sessions that
// resume on every worker and across a reload (but never past a change of
// client verification), and a reload that rotates the listener's
// certificate while a connection made before it goes on with the old one.
// Certificates come from the openssl CLI.
#include <doctest/doctest.h>

#include <cctype>
#include <filesystem>
#include <string>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/test_pki.h"
#include "support/tls_client.h"

using namespace fulcrum::test;

namespace {

const std::string kRequest = "GET /who HTTP/1.1\r\nHost: api.example.com\r\n\r\n";

// The SHA-256 of a certificate's DER, lower-case hex, as openssl computes it.
std::string sha256Fingerprint(const std::string& certificate) {
  ChildProcess openssl(
      {"/usr/bin/openssl", "x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"});
  REQUIRE(openssl.waitExit() == 0);
  openssl.joinOutput();
  std::string hex;
  for (const auto& line : openssl.lines()) {
    const size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    for (char c : line.substr(equals + 1))
      if (c != ':') hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return hex;
}

// TLS 1.2: the session is there as soon as the handshake ends.
TlsClientOptions tls12(const std::string& ca, const std::string& certificate = "",
                       const std::string& key = "") {
  TlsClientOptions options{ca, certificate, key};
  options.max_version = TLS1_2_VERSION;
  return options;
}

// The session of a first connection, once it got its answer (the caller
// frees it). `first` stays open: OpenSSL's client context, once freed,
// would no longer offer the session.
SSL_SESSION* sessionAfterExchange(TlsClient& first) {
  REQUIRE(first.exchange(kRequest));
  SSL_SESSION* session = first.session();
  REQUIRE(session != nullptr);
  return session;
}

}  // namespace

TEST_CASE("tls listener: client_verify required lets only clients with a certificate through") {
  TestPki pki;
  TestPki clients("client CA");
  auto api = pki.issue("api", {"api.example.com"});
  auto alice = clients.issue("alice", {"alice"}, 30, true);
  auto mallory = pki.issue("mallory", {"mallory"}, 30, true);  // signed by the wrong CA
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api, ", client_ca: " + clients.ca() +
                                                                ", client_verify: required")));
  const uint16_t port = proxy.port("web");

  TlsClient with(port, "api.example.com", {pki.ca(), alice.certificate, alice.key});
  auto answered = with.exchange(
      "GET /who HTTP/1.1\r\nHost: api.example.com\r\nX-Forwarded-Client-Cert: Hash=forged\r\n\r\n");
  REQUIRE_MESSAGE(answered, with.error());
  CHECK(answered->status == 200);
  // The server learns who the client is, in Envoy's format, and nothing the
  // client claimed about itself.
  auto seen = backend.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].count("X-Forwarded-Client-Cert") == 1);
  CHECK(seen[0].field("X-Forwarded-Client-Cert") ==
        "Hash=" + sha256Fingerprint(alice.certificate) + ";Subject=\"CN=alice\"");

  TlsClient without(port, "api.example.com", {pki.ca()});
  CHECK_FALSE(without.exchange(kRequest));
  TlsClient wrong(port, "api.example.com", {pki.ca(), mallory.certificate, mallory.key});
  CHECK_FALSE(wrong.exchange(kRequest));
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("tls listener: client_verify optional serves clients with or without a certificate") {
  TestPki pki;
  TestPki clients("client CA");
  auto api = pki.issue("api", {"api.example.com"});
  auto alice = clients.issue("alice", {"alice"}, 30, true);
  auto mallory = pki.issue("mallory", {"mallory"}, 30, true);
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api, ", client_ca: " + clients.ca() +
                                                                ", client_verify: optional")));
  const uint16_t port = proxy.port("web");
  TlsClient with(port, "api.example.com", {pki.ca(), alice.certificate, alice.key});
  CHECK(with.exchange(kRequest).has_value());
  TlsClient without(port, "api.example.com", {pki.ca()});
  CHECK(without.exchange(kRequest).has_value());
  // A certificate that does not verify is refused even when optional.
  TlsClient wrong(port, "api.example.com", {pki.ca(), mallory.certificate, mallory.key});
  CHECK_FALSE(wrong.exchange(kRequest));
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("tls listener: ALPN agrees on http/1.1, 200 requests go over one connection") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api)));
  TlsClientOptions options{pki.ca()};
  options.alpn = "http/1.1";
  TlsClient client(proxy.port("web"), "api.example.com", options);
  REQUIRE_MESSAGE(client.handshake(), client.error());
  CHECK(client.alpn() == "http/1.1");
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    auto response = client.exchange("GET /n/" + std::to_string(i) +
                                    " HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
    if (!response) break;
    ok += response->status == 200 && response->body == "b1 /n/" + std::to_string(i) + "\n";
  }
  CHECK(ok == 200);
}

TEST_CASE("tls listener: sessions resume on every worker, by ticket or by session cache") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  for (const char* tickets : {"true", "false"}) {
    CAPTURE(tickets);
    Proxy proxy(tlsHttpConfig(backend.port(),
                              tlsMapping(api, std::string(", session_tickets: ") + tickets), 2));
    const uint16_t port = proxy.port("web");
    const TlsClientOptions options = tls12(pki.ca());
    TlsClient first(port, "api.example.com", options);
    SSL_SESSION* session = sessionAfterExchange(first);
    // Two workers share the listening socket: eight connections land on
    // both, and every one resumes the session the first one made.
    int resumed = 0;
    for (int i = 0; i < 8; ++i) {
      TlsClient next(port, "api.example.com", options);
      next.resumeWith(session);
      REQUIRE_MESSAGE(next.handshake(), next.error());
      resumed += next.resumed();
      CHECK(next.exchange(kRequest).has_value());
    }
    CHECK(resumed == 8);
    SSL_SESSION_free(session);
  }
}

// A client that asks to close is closed at once (no lingering read), but
// with a close_notify first: a client that reads to the end sees a clean
// end and keeps its session (s_time -reuse does exactly this).
TEST_CASE("tls listener: Connection: close ends with close_notify, and the session resumes") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(api)));
  const uint16_t port = proxy.port("web");
  const std::string closing =
      "GET /who HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n";
  TlsClient first(port, "api.example.com", {pki.ca()});
  REQUIRE(first.exchange(closing));
  CHECK(first.readToCloseNotify());
  SSL_SESSION* session = first.session();
  REQUIRE(session != nullptr);
  TlsClient next(port, "api.example.com", {pki.ca()});
  next.resumeWith(session);
  REQUIRE_MESSAGE(next.handshake(), next.error());
  CHECK(next.resumed());
  CHECK(next.exchange(closing).has_value());
  SSL_SESSION_free(session);
}

TEST_CASE("tls listener: tickets resume after a reload, unless client verification changed") {
  TestPki pki;
  TestPki clients("client CA");
  auto api = pki.issue("api", {"api.example.com"});
  auto alice = clients.issue("alice", {"alice"}, 30, true);
  HttpBackend backend("b1");
  const std::string yaml =
      tlsHttpConfig(backend.port(), tlsMapping(api, ", session_tickets: true"), 2);
  Proxy proxy(yaml);
  const uint16_t port = proxy.port("web");
  const TlsClientOptions options = tls12(pki.ca());
  TlsClient first(port, "api.example.com", options);
  SSL_SESSION* session = sessionAfterExchange(first);

  Reloader reloader(proxy, 2);
  REQUIRE(reloader.succeeds(yaml));
  TlsClient resumed(port, "api.example.com", options);
  resumed.resumeWith(session);
  REQUIRE_MESSAGE(resumed.handshake(), resumed.error());
  CHECK(resumed.resumed());
  CHECK(resumed.exchange(kRequest).has_value());

  // The same ticket keys, but now a certificate is required: the session
  // made without one must not let a client skip it.
  REQUIRE(reloader.succeeds(tlsHttpConfig(
      backend.port(), tlsMapping(api, ", client_ca: " + clients.ca() + ", client_verify: required"),
      2)));
  TlsClient anonymous(port, "api.example.com", options);
  anonymous.resumeWith(session);
  const bool anonymous_through = anonymous.handshake() && anonymous.exchange(kRequest);
  CHECK_FALSE(anonymous_through);
  TlsClient alice_client(port, "api.example.com", tls12(pki.ca(), alice.certificate, alice.key));
  alice_client.resumeWith(session);
  REQUIRE_MESSAGE(alice_client.handshake(), alice_client.error());
  CHECK_FALSE(alice_client.resumed());  // a full handshake, with her certificate
  CHECK(alice_client.exchange(kRequest).has_value());
  SSL_SESSION_free(session);
}

TEST_CASE("tls listener: a reload rotates the certificate, an open connection keeps working") {
  TestPki pki;
  auto first = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  const std::string yaml = tlsHttpConfig(backend.port(), tlsMapping(first));
  Proxy proxy(yaml);
  const uint16_t port = proxy.port("web");
  TlsClient before(port, "api.example.com", {pki.ca()});
  REQUIRE(before.exchange(kRequest));
  const std::string old_serial = before.serverSerial();

  // Renewed in place, as certbot or cert-manager do: same files, new certificate.
  auto renewed = pki.issue("renewed", {"api.example.com"});
  std::filesystem::copy_file(renewed.certificate, first.certificate,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key, first.key,
                             std::filesystem::copy_options::overwrite_existing);
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(yaml));

  TlsClient after(port, "api.example.com", {pki.ca()});
  REQUIRE(after.exchange(kRequest));
  CHECK(after.serverSerial() != old_serial);
  // The connection made before the reload still has its old certificate
  // and still gets answers.
  auto still = before.exchange(kRequest);
  REQUIRE(still);
  CHECK(still->status == 200);
  CHECK(before.serverSerial() == old_serial);
}

TEST_CASE("tls listener: a reload with a key that does not match keeps the running certificate") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  const std::string yaml = tlsHttpConfig(backend.port(), tlsMapping(api));
  Proxy proxy(yaml);
  const uint16_t port = proxy.port("web");
  TlsClient before(port, "api.example.com", {pki.ca()});
  REQUIRE(before.exchange(kRequest));

  const std::string stray = pki.strayKey("stray");
  Reloader reloader(proxy, 1);
  CHECK(reloader.fails(tlsHttpConfig(
      backend.port(), "{ certificate: " + api.certificate + ", key: " + stray + " }")));
  TlsClient after(port, "api.example.com", {pki.ca()});
  REQUIRE(after.exchange(kRequest));
  CHECK(after.serverSerial() == before.serverSerial());
}
