// The TLS side of one upstream: fulcrum as a TLS client of its servers
// (origination). TLS 1.2 or newer, the Mozilla "intermediate" TLS 1.2
// ciphers, and by default the server's certificate verified against `ca`
// (or the system trust store) and for the name the connection is for
// (open()). Optionally presents a client certificate (mTLS). Sessions are
// kept per server (tls/client_sessions.h), so a new connection to a server
// resumes instead of making a full handshake.
//
// Immutable once loaded, and shared read-only by the workers and the health
// checks of one Runtime (SSL_new on a shared context is thread-safe); a
// reload loads a new one, so rotated files take effect for new connections
// only. SSL objects hold their own reference to the SSL_CTX: connections
// may outlive the ClientContext.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tls/certificate_files.h"
#include "tls/certificate_info.h"
#include "tls/tls_transport.h"

namespace fulcrum::tls {

struct ClientSettings {
  std::string ca;           // PEM CA certificates that sign the servers'; empty = the system store
  bool verify = true;       // false: any certificate is taken (the config check warns)
  CertificateFiles client;  // presented when a server asks; empty paths = none

  bool operator==(const ClientSettings&) const = default;
};

class ClientContext {
 public:
  // Reads every file; null on failure, with `failure` saying why (at
  // Setting::Ca, Certificate or Key).
  static std::shared_ptr<const ClientContext> load(const ClientSettings& settings,
                                                   LoadFailure& failure);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A TLS client over the connected, non-blocking `fd` (owned from then
  // on), to the server `peer` names: a DNS name is sent as SNI and must be
  // one of the certificate's names; an IP literal is not sent (SNI carries
  // names only) and must be one of its IP addresses; empty: no SNI, and
  // only the chain is verified. `session`: the server's index in its
  // upstream, to resume its last session and keep this connection's;
  // nullopt: a full handshake that keeps nothing (a health probe proves
  // the server can make one). Null when OpenSSL cannot make the connection
  // (the fd is then closed).
  std::unique_ptr<TlsTransport> open(int fd, const std::string& peer,
                                     std::optional<uint32_t> session) const;

  bool verifies() const { return verify_; }
  // The client certificate, when one is presented.
  const std::optional<CertificateInfo>& certificate() const { return certificate_; }

 private:
  ClientContext(SSL_CTX* ctx, bool verify) : ctx_(ctx), verify_(verify) {}

  SSL_CTX* ctx_;
  bool verify_;
  std::optional<CertificateInfo> certificate_;
};

}  // namespace fulcrum::tls
