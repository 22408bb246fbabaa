// The TLS transport on both ends of a socketpair: the handshake in both
// directions, bytes both ways well past one record, the want-read /
// want-write cycle of non-blocking sockets, close_notify as EOF, and a
// handshake that fails for a reason the operator can read.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "net/buffer.h"
#include "support/net.h"         // patternBytes
#include "support/tls_server.h"  // installSelfSigned
#include "tls/tls_transport.h"

using fulcrum::net::IoResult;
using fulcrum::tls::TlsTransport;

namespace {

struct Contexts {
  SSL_CTX* server = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  Contexts() { fulcrum::test::installSelfSigned(server); }
  ~Contexts() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
};

struct Pair {
  std::unique_ptr<TlsTransport> client;
  std::unique_ptr<TlsTransport> server;
};

Pair connectedPair(Contexts& contexts, const std::string& server_name = "localhost") {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  Pair pair;
  pair.client =
      TlsTransport::create(fds[0], contexts.client, TlsTransport::Side::Client, server_name);
  pair.server = TlsTransport::create(fds[1], contexts.server, TlsTransport::Side::Server);
  REQUIRE(pair.client);
  REQUIRE(pair.server);
  return pair;
}

// Waits (bounded) until `fd` is ready for what `result` asked.
void waitFor(int fd, const IoResult& result) {
  pollfd p{fd, static_cast<short>(result.status == IoResult::Status::WantWrite ? POLLOUT : POLLIN),
           0};
  REQUIRE(poll(&p, 1, 2000) == 1);
}

// Runs both handshakes to their end; false when either failed.
bool handshakeBoth(Pair& pair) {
  bool client_done = false, server_done = false;
  for (int round = 0; round < 100 && !(client_done && server_done); ++round) {
    if (!client_done) {
      IoResult r = pair.client->handshake();
      if (r.status == IoResult::Status::Error) return false;
      client_done = r.status == IoResult::Status::Done;
    }
    if (!server_done) {
      IoResult r = pair.server->handshake();
      if (r.status == IoResult::Status::Error) return false;
      server_done = r.status == IoResult::Status::Done;
    }
  }
  return client_done && server_done;
}

// Moves `bytes` from `from` to `to` through the transports, both sides
// non-blocking, turn by turn; returns what `to` read.
std::string transfer(TlsTransport& from, TlsTransport& to, const std::string& bytes) {
  fulcrum::net::Buffer out = fulcrum::net::newBuffer();
  evbuffer_add(out.get(), bytes.data(), bytes.size());
  std::string received;
  char chunk[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received.size() < bytes.size() && std::chrono::steady_clock::now() < deadline) {
    if (evbuffer_get_length(out.get()) > 0) {
      IoResult w = from.write(out.get());
      REQUIRE(w.status != IoResult::Status::Error);
    }
    for (;;) {
      IoResult r = to.read(chunk, sizeof(chunk));
      REQUIRE(r.status != IoResult::Status::Error);
      REQUIRE(r.status != IoResult::Status::Eof);
      if (r.status != IoResult::Status::Done) break;
      received.append(chunk, r.bytes);
    }
  }
  return received;
}

}  // namespace

TEST_CASE("tls transport: a handshake, then bytes both ways past one record") {
  Contexts contexts;
  Pair pair = connectedPair(contexts);
  REQUIRE(handshakeBoth(pair));
  CHECK(SSL_version(pair.client->ssl()) >= TLS1_2_VERSION);
  const char* name = SSL_get_servername(pair.server->ssl(), TLSEXT_NAMETYPE_host_name);
  REQUIRE(name != nullptr);
  CHECK(std::string(name) == "localhost");

  const std::string up = fulcrum::test::patternBytes(300 * 1024, 7);
  CHECK(transfer(*pair.client, *pair.server, up) == up);
  const std::string down = fulcrum::test::patternBytes(70 * 1024 + 3, 8);
  CHECK(transfer(*pair.server, *pair.client, down) == down);
}

TEST_CASE("tls transport: a read before any data waits, close_notify is EOF") {
  Contexts contexts;
  Pair pair = connectedPair(contexts);
  REQUIRE(handshakeBoth(pair));
  char byte;
  IoResult nothing = pair.server->read(&byte, 1);
  CHECK(nothing.status == IoResult::Status::WantRead);

  pair.client->shutdownWrite();
  IoResult end = pair.server->read(&byte, 1);
  for (int i = 0; i < 10 && end.waits(); ++i) {
    waitFor(pair.server->fd(), end);
    end = pair.server->read(&byte, 1);
  }
  CHECK(end.status == IoResult::Status::Eof);
}

TEST_CASE("tls transport: a failed verification is an error with OpenSSL's reason") {
  Contexts contexts;
  // The client trusts nothing: the self-signed certificate fails.
  SSL_CTX_set_verify(contexts.client, SSL_VERIFY_PEER, nullptr);
  Pair pair = connectedPair(contexts);
  CHECK_FALSE(handshakeBoth(pair));
  CHECK(pair.client->lastError().find("certificate verify failed") != std::string::npos);
}

TEST_CASE("tls transport: a plain-text peer fails the server's handshake") {
  Contexts contexts;
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  auto server = TlsTransport::create(fds[1], contexts.server, TlsTransport::Side::Server);
  REQUIRE(server);
  const std::string plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(send(fds[0], plain.data(), plain.size(), 0) == static_cast<ssize_t>(plain.size()));
  IoResult r = server->handshake();
  CHECK(r.status == IoResult::Status::Error);
  CHECK_FALSE(server->lastError().empty());
  close(fds[0]);
}
