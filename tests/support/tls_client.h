// A blocking TLS client for tests that need what curl cannot show: one
// connection kept across a reload, the server certificate it was shown,
// the ALPN protocol agreed. Connects to 127.0.0.1:PORT with SNI `name`,
// verifies the server against `ca` and `name`, and optionally presents a
// client certificate. Every socket operation is bounded (10 s).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "support/http.h"
#include "support/net.h"

namespace fulcrum::test {

struct TlsClientOptions {
  std::string ca;           // PEM file to verify the server against
  std::string certificate;  // client certificate (PEM), optional
  std::string key;
  std::string alpn;     // a protocol to offer ("http/1.1"), optional
  int max_version = 0;  // e.g. TLS1_2_VERSION; 0 = OpenSSL's highest
};

class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& name, const TlsClientOptions& options);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Runs the handshake (exchange() does when it has not run); true when it
  // completed and the server was verified. Call resumeWith() first to
  // resume a session.
  bool handshake();
  bool connected() const { return connected_; }
  // OpenSSL's reason when it did not.
  const std::string& error() const { return error_; }

  // Sends `bytes` and reads one response framed by Content-Length (or to
  // the close); nullopt on any failure.
  std::optional<HttpMessage> exchange(const std::string& bytes);
  // The server certificate's serial number, in hex.
  std::string serverSerial() const;
  std::string alpn() const;
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }
  // A session to resume with another client (owned by the caller: SSL_SESSION_free).
  SSL_SESSION* session() const { return SSL_get1_session(ssl_); }
  void resumeWith(SSL_SESSION* session);
  // Reads until the server ends the connection; true when it ended with a
  // close_notify (OpenSSL drops the session of a connection that was cut).
  bool readToCloseNotify();

 private:
  bool readMore(std::string& into);

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  Fd fd_;
  bool connected_ = false;
  std::string error_;
};

// The first flight of an OpenSSL client asking for `name` by SNI: a whole
// ClientHello record, made in memory (no socket), to send by hand.
std::string clientHello(const std::string& name);

}  // namespace fulcrum::test
