// Why a server-side handshake failed, in the fixed set of
// fulcrum_tls_handshakes_total's result label: first from OpenSSL's error
// codes as such, then from real handshakes over a socketpair (a server
// TlsTransport against clients that offer too old a version, no common
// cipher, no certificate, that refuse the server's, that speak plain text
// or hang up), so the mapping is checked against what OpenSSL really says.
#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

#include "support/tls_server.h"  // installSelfSigned
#include "tls/handshake_result.h"
#include "tls/tls_transport.h"

using fulcrum::net::IoResult;
using fulcrum::tls::classifyHandshakeFailure;
using fulcrum::tls::HandshakeResult;
using fulcrum::tls::TlsTransport;

namespace {

unsigned long sslError(int reason) {
  return ERR_PACK(ERR_LIB_SSL, 0, reason);
}

std::string label(HandshakeResult result) {
  return std::string(fulcrum::tls::handshakeResultLabel(result));
}

// A server context as fulcrum's listeners make them in the respects that
// matter here: TLS 1.2 or newer, a certificate.
struct Contexts {
  SSL_CTX* server = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  Contexts() {
    fulcrum::test::installSelfSigned(server);
    SSL_CTX_set_min_proto_version(server, TLS1_2_VERSION);
  }
  ~Contexts() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
};

// Runs a client and a server transport over a socketpair until the
// server's handshake ends (the client may give up first: its alert is
// then what the server reads). Returns how the server's ended.
HandshakeResult serverResult(Contexts& contexts) {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  auto client = TlsTransport::create(fds[0], contexts.client, TlsTransport::Side::Client);
  auto server = TlsTransport::create(fds[1], contexts.server, TlsTransport::Side::Server);
  REQUIRE(client);
  REQUIRE(server);
  bool client_running = true;
  for (int round = 0; round < 100; ++round) {
    if (client_running) client_running = client->handshake().waits();
    const IoResult step = server->handshake();
    if (step.status == IoResult::Status::Done) return HandshakeResult::Ok;
    if (step.status == IoResult::Status::Error) {
      CAPTURE(server->lastError());
      return classifyHandshakeFailure(step.error, server->lastErrorCode());
    }
  }
  FAIL("the server's handshake neither ended nor failed");
  return HandshakeResult::Other;
}

// The server's handshake against a peer that sends `bytes` and ends its
// side (a FIN: it still takes the server's alert, so no SIGPIPE).
HandshakeResult serverResultAfter(const std::string& bytes, bool ignore_unexpected_eof = true) {
  Contexts contexts;
  if (ignore_unexpected_eof) SSL_CTX_set_options(contexts.server, SSL_OP_IGNORE_UNEXPECTED_EOF);
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  auto server = TlsTransport::create(fds[1], contexts.server, TlsTransport::Side::Server);
  REQUIRE(server);
  if (!bytes.empty())
    REQUIRE(send(fds[0], bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  shutdown(fds[0], SHUT_WR);
  const IoResult step = server->handshake();
  close(fds[0]);
  REQUIRE(step.status == IoResult::Status::Error);
  CAPTURE(server->lastError());
  return classifyHandshakeFailure(step.error, server->lastErrorCode());
}

}  // namespace

TEST_CASE("handshake results: each has its own label, and Ok is ok") {
  std::set<std::string> labels;
  for (size_t r = 0; r < fulcrum::tls::kHandshakeResults; ++r) {
    const std::string text = label(static_cast<HandshakeResult>(r));
    CAPTURE(text);
    CHECK_FALSE(text.empty());
    CHECK(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    labels.insert(text);
  }
  CHECK(labels.size() == fulcrum::tls::kHandshakeResults);
  CHECK(label(HandshakeResult::Ok) == "ok");
  CHECK(label(HandshakeResult::NotTls) == "not_tls");
}

TEST_CASE("handshake results: OpenSSL's reasons fall into the fixed set") {
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_HTTP_REQUEST)) == HandshakeResult::NotTls);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_WRONG_VERSION_NUMBER)) ==
        HandshakeResult::NotTls);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_UNSUPPORTED_PROTOCOL)) ==
        HandshakeResult::ProtocolVersion);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_NO_SHARED_CIPHER)) ==
        HandshakeResult::NoSharedCipher);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)) ==
        HandshakeResult::ClientCertificate);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_CERTIFICATE_VERIFY_FAILED)) ==
        HandshakeResult::ClientCertificate);
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_UNEXPECTED_EOF_WHILE_READING)) ==
        HandshakeResult::PeerClosed);
  // A reason outside the set is "other", never a new label.
  CHECK(classifyHandshakeFailure(EPROTO, sslError(SSL_R_BAD_PACKET_LENGTH)) ==
        HandshakeResult::Other);
}

TEST_CASE("handshake results: the client's alerts say whose fault it was") {
  const auto alert = [](int number) { return sslError(SSL_AD_REASON_OFFSET + number); };
  for (int refused : {SSL_AD_UNKNOWN_CA, SSL_AD_BAD_CERTIFICATE, SSL_AD_CERTIFICATE_EXPIRED,
                      SSL_AD_CERTIFICATE_UNKNOWN}) {
    CAPTURE(refused);
    CHECK(classifyHandshakeFailure(EPROTO, alert(refused)) == HandshakeResult::ServerCertificate);
  }
  CHECK(classifyHandshakeFailure(EPROTO, alert(SSL_AD_PROTOCOL_VERSION)) ==
        HandshakeResult::ProtocolVersion);
  CHECK(classifyHandshakeFailure(EPROTO, alert(SSL_AD_USER_CANCELLED)) ==
        HandshakeResult::PeerClosed);
  CHECK(classifyHandshakeFailure(EPROTO, alert(SSL_AD_DECODE_ERROR)) == HandshakeResult::Other);
}

TEST_CASE("handshake results: the deadline and the socket decide without a TLS reason") {
  CHECK(classifyHandshakeFailure(ETIMEDOUT, 0) == HandshakeResult::Timeout);
  // The deadline wins over whatever OpenSSL last said.
  CHECK(classifyHandshakeFailure(ETIMEDOUT, sslError(SSL_R_HTTP_REQUEST)) ==
        HandshakeResult::Timeout);
  CHECK(classifyHandshakeFailure(ECONNRESET, 0) == HandshakeResult::PeerClosed);
  CHECK(classifyHandshakeFailure(EPIPE, 0) == HandshakeResult::PeerClosed);
  // OpenSSL 3 may queue the errno as a system error entry.
  CHECK(classifyHandshakeFailure(ECONNRESET, ERR_PACK(ERR_LIB_SYS, 0, ECONNRESET)) ==
        HandshakeResult::PeerClosed);
  CHECK(classifyHandshakeFailure(EPROTO, 0) == HandshakeResult::Other);
}

TEST_CASE("handshake results: a client of TLS 1.1 is protocol_version") {
  Contexts contexts;
  // OpenSSL's own client would not even offer 1.1 at its default level.
  SSL_CTX_set_security_level(contexts.client, 0);
  SSL_CTX_set_cipher_list(contexts.client, "DEFAULT@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(contexts.client, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(contexts.client, TLS1_1_VERSION);
  CHECK(serverResult(contexts) == HandshakeResult::ProtocolVersion);
}

TEST_CASE("handshake results: no cipher in common is no_shared_cipher") {
  Contexts contexts;
  SSL_CTX_set_max_proto_version(contexts.server, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(contexts.client, TLS1_2_VERSION);
  REQUIRE(SSL_CTX_set_cipher_list(contexts.server, "ECDHE-ECDSA-AES128-GCM-SHA256") == 1);
  REQUIRE(SSL_CTX_set_cipher_list(contexts.client, "ECDHE-ECDSA-AES256-GCM-SHA384") == 1);
  CHECK(serverResult(contexts) == HandshakeResult::NoSharedCipher);
}

TEST_CASE("handshake results: a required client certificate missing or unverified") {
  SUBCASE("none sent") {
    Contexts contexts;
    SSL_CTX_set_verify(contexts.server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    CHECK(serverResult(contexts) == HandshakeResult::ClientCertificate);
  }
  SUBCASE("one the server does not trust") {
    Contexts contexts;
    SSL_CTX_set_verify(contexts.server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    fulcrum::test::installSelfSigned(contexts.client);
    CHECK(serverResult(contexts) == HandshakeResult::ClientCertificate);
  }
}

TEST_CASE("handshake results: a client that refuses the server's certificate") {
  Contexts contexts;
  // It trusts nothing, so the self-signed certificate fails: it sends an alert.
  SSL_CTX_set_verify(contexts.client, SSL_VERIFY_PEER, nullptr);
  CHECK(serverResult(contexts) == HandshakeResult::ServerCertificate);
}

TEST_CASE("handshake results: plain text on a TLS port is not_tls") {
  CHECK(serverResultAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == HandshakeResult::NotTls);
  CHECK(serverResultAfter("SSH-2.0-OpenSSH_9.2\r\n") == HandshakeResult::NotTls);
}

TEST_CASE("handshake results: a client that hangs up is peer_closed") {
  CHECK(serverResultAfter("") == HandshakeResult::PeerClosed);
  // Also when OpenSSL itself reports the unexpected end.
  CHECK(serverResultAfter("", false) == HandshakeResult::PeerClosed);
}
