// An upstream's TLS client context against a listener's server context,
// over a socketpair: the certificate verified against `ca` and for the
// name (DNS names as SNI, IP literals among the IP addresses), what a
// failed verification says, verify: false, the client certificate, session
// resumption per server, and files that cannot be read.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <optional>
#include <string>

#include "net/buffer.h"
#include "support/test_pki.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

using namespace fulcrum::tls;
using fulcrum::net::IoResult;
using fulcrum::test::TestPki;

namespace {

// A listener for "api.internal" and 127.0.0.1, signed by pki's CA.
std::shared_ptr<const ServerContext> listener(TestPki& pki, ServerSettings settings = {}) {
  auto issued = pki.issue("api", {"api.internal", "127.0.0.1"});
  settings.certificates = {{issued.certificate, issued.key}};
  LoadFailure why;
  auto context = ServerContext::load(settings, why);
  REQUIRE_MESSAGE(context, why.text);
  return context;
}

ClientSettings trusting(const std::string& ca, bool verify = true, CertificateFiles files = {}) {
  ClientSettings settings;
  settings.ca = ca;
  settings.verify = verify;
  settings.client = std::move(files);
  return settings;
}

std::shared_ptr<const ClientContext> client(const ClientSettings& settings) {
  LoadFailure why;
  auto context = ClientContext::load(settings, why);
  REQUIRE_MESSAGE(context, why.text);
  return context;
}

// One connection: the client side from `context` for `peer`, the server
// side from `server`, both non-blocking on a socketpair.
struct Connection {
  Connection(const ClientContext& context, const ServerContext& server, const std::string& peer,
             std::optional<uint32_t> session = std::nullopt) {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    near = context.open(fds[0], peer, session);
    far = TlsTransport::create(fds[1], server.initial(), TlsTransport::Side::Server);
    REQUIRE(near);
    REQUIRE(far);
  }

  // Both handshakes to their end, turn by turn; the client's result.
  IoResult shake() {
    IoResult mine = IoResult::wantRead(), theirs = IoResult::wantRead();
    for (int turn = 0; turn < 100 && (mine.waits() || theirs.waits()); ++turn) {
      if (mine.waits()) mine = near->handshake();
      if (theirs.waits()) theirs = far->handshake();
    }
    return mine;
  }

  // The server sends a byte; the client reads it, and with it the session
  // tickets a TLS 1.3 server sends after its handshake.
  bool deliverTickets() {
    fulcrum::net::Buffer out = fulcrum::net::newBuffer();
    evbuffer_add(out.get(), "x", 1);
    if (far->write(out.get()).status != IoResult::Status::Done) return false;
    char byte = 0;
    for (int turn = 0; turn < 100; ++turn) {
      IoResult got = near->read(&byte, 1);
      if (got.status == IoResult::Status::Done) return byte == 'x';
      if (!got.waits()) return false;
    }
    return false;
  }

  std::string sentName() const {
    const char* name = SSL_get_servername(far->ssl(), TLSEXT_NAMETYPE_host_name);
    return name == nullptr ? "" : name;
  }

  std::unique_ptr<TlsTransport> near;
  std::unique_ptr<TlsTransport> far;
};

}  // namespace

TEST_CASE("tls client: the certificate is verified against ca for the name, sent as SNI") {
  TestPki pki;
  auto server = listener(pki);
  auto context = client(trusting(pki.ca()));
  CHECK(context->verifies());
  Connection ok(*context, *server, "api.internal");
  CHECK(ok.shake().status == IoResult::Status::Done);
  CHECK(ok.sentName() == "api.internal");

  Connection other(*context, *server, "pay.internal");
  CHECK(other.shake().status == IoResult::Status::Error);
  CHECK(other.near->failureReason() == "certificate verify failed (hostname mismatch)");
}

TEST_CASE("tls client: an IP literal is verified among the IP addresses, never sent as SNI") {
  TestPki pki;
  auto server = listener(pki);
  auto context = client(trusting(pki.ca()));
  Connection ok(*context, *server, "127.0.0.1");
  CHECK(ok.shake().status == IoResult::Status::Done);
  CHECK(ok.sentName().empty());

  Connection other(*context, *server, "127.0.0.2");
  CHECK(other.shake().status == IoResult::Status::Error);
  CHECK(other.near->failureReason() == "certificate verify failed (IP address mismatch)");
}

TEST_CASE("tls client: another CA's certificate fails, unless verify is false") {
  TestPki pki;
  TestPki stranger("stranger CA");
  auto server = listener(pki);
  Connection untrusted(*client(trusting(stranger.ca())), *server, "api.internal");
  CHECK(untrusted.shake().status == IoResult::Status::Error);
  CHECK(untrusted.near->failureReason().starts_with("certificate verify failed ("));
  // The system store does not know the test CA either.
  Connection system(*client({}), *server, "api.internal");
  CHECK(system.shake().status == IoResult::Status::Error);

  auto blind = client(trusting(stranger.ca(), false));
  CHECK_FALSE(blind->verifies());
  Connection any(*blind, *server, "pay.internal");
  CHECK(any.shake().status == IoResult::Status::Done);
  CHECK(any.sentName() == "pay.internal");  // still sent: a server may pick by it
}

TEST_CASE("tls client: the client certificate goes to a server that requires one") {
  TestPki pki;
  TestPki clients("client CA");
  auto alice = clients.issue("alice", {"alice"}, 30, true);
  ServerSettings requiring;
  requiring.client_ca = clients.ca();
  requiring.client_verify = ClientVerify::Required;
  auto server = listener(pki, requiring);

  auto with = client(trusting(pki.ca(), true, {alice.certificate, alice.key}));
  REQUIRE(with->certificate());
  CHECK(with->certificate()->subject == "alice");
  Connection presented(*with, *server, "api.internal");
  CHECK(presented.shake().status == IoResult::Status::Done);
  CHECK(presented.deliverTickets());
  X509* seen = SSL_get0_peer_certificate(presented.far->ssl());
  REQUIRE(seen != nullptr);

  // Without one the server refuses; in TLS 1.3 the client learns it at its
  // first read, after its own side of the handshake: a refused handshake,
  // not a connection that broke.
  auto without = client(trusting(pki.ca()));
  Connection refused(*without, *server, "api.internal");
  REQUIRE(refused.shake().status == IoResult::Status::Done);
  char byte = 0;
  IoResult read = IoResult::wantRead();
  for (int turn = 0; turn < 100 && read.waits(); ++turn) read = refused.near->read(&byte, 1);
  CHECK(read.status == IoResult::Status::Error);
  CHECK(refused.near->refusedHandshake());
  CHECK(refused.near->failureReason().find("certificate required") != std::string::npos);
  CHECK_FALSE(presented.near->refusedHandshake());
}

TEST_CASE("tls client: a new connection to a server resumes its last session, not another's") {
  TestPki pki;
  auto server = listener(pki);
  auto context = client(trusting(pki.ca()));
  Connection first(*context, *server, "api.internal", 0);
  REQUIRE(first.shake().status == IoResult::Status::Done);
  CHECK_FALSE(SSL_session_reused(first.near->ssl()));
  REQUIRE(first.deliverTickets());

  Connection second(*context, *server, "api.internal", 0);
  REQUIRE(second.shake().status == IoResult::Status::Done);
  CHECK(SSL_session_reused(second.near->ssl()) == 1);
  CHECK(SSL_session_reused(second.far->ssl()) == 1);

  Connection other_server(*context, *server, "api.internal", 1);
  REQUIRE(other_server.shake().status == IoResult::Status::Done);
  CHECK_FALSE(SSL_session_reused(other_server.near->ssl()));
  Connection probe(*context, *server, "api.internal");  // a health probe: keeps nothing
  REQUIRE(probe.shake().status == IoResult::Status::Done);
  CHECK_FALSE(SSL_session_reused(probe.near->ssl()));
}

TEST_CASE("tls client: files that cannot be read are refused, naming the setting") {
  TestPki pki;
  auto alice = pki.issue("alice", {"alice"}, 30, true);
  LoadFailure why;
  CHECK_FALSE(ClientContext::load(trusting(pki.dir() + "/missing.pem"), why));
  CHECK(why.setting == LoadFailure::Setting::Ca);
  CHECK(why.text == pki.dir() + "/missing.pem: cannot open: No such file or directory");

  CHECK_FALSE(ClientContext::load(trusting(alice.key), why));  // a key is no CA certificate
  CHECK(why.setting == LoadFailure::Setting::Ca);
  CHECK(why.text.starts_with(alice.key + ": cannot read the CA certificates"));

  CHECK_FALSE(
      ClientContext::load(trusting(pki.ca(), true, {alice.certificate, pki.strayKey("x")}), why));
  CHECK(why.setting == LoadFailure::Setting::Key);
  CHECK(why.text.find("does not match the certificate " + alice.certificate) != std::string::npos);
}
