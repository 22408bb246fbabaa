#include "tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/host_name.h"
#include "tls/client_sessions.h"
#include "tls/server_context.h"  // kIntermediateCiphers

namespace fulcrum::tls {
namespace {

using Setting = LoadFailure::Setting;

// Sets `ssl` to send `peer` as SNI and to verify it, as open() says.
// False when OpenSSL refuses the name.
bool setPeer(SSL* ssl, const std::string& peer, bool verify) {
  if (peer.empty()) return true;
  const std::optional<HostName> host = parseHostName(peer);
  if (host && host->ip)
    return !verify || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host->text.c_str()) == 1;
  if (SSL_set_tlsext_host_name(ssl, peer.c_str()) != 1) return false;
  if (!verify) return true;
  // "*.example.com" covers one label, as browsers match it.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, peer.c_str()) == 1;
}

}  // namespace

std::shared_ptr<const ClientContext> ClientContext::load(const ClientSettings& settings,
                                                         LoadFailure& why) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    fail(why, Setting::Other, 0, fileFailure("OpenSSL", "cannot make a TLS context"));
    return nullptr;
  }
  // Owned from here, so every early return frees it.
  std::shared_ptr<ClientContext> context(new ClientContext(ctx, settings.verify));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A server that closes without close_notify ends the stream as a plain
  // EOF would: HTTP's framing says whether a response was cut short.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx, kIntermediateCiphers) != 1) {
    fail(why, Setting::Other, 0, fileFailure("ciphers", "OpenSSL knows none of them"));
    return nullptr;
  }
  if (!settings.ca.empty()) {
    if (!trustCaFile(ctx, settings.ca, Setting::Ca, why)) return nullptr;
  } else if (settings.verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    fail(why, Setting::Ca, 0, fileFailure("the system trust store", "cannot be read"));
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, settings.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!settings.client.certificate.empty()) {
    if (!useCertificate(ctx, settings.client, 0, why)) return nullptr;
    context->certificate_ =
        describeCertificate(SSL_CTX_get0_certificate(ctx), settings.client.certificate);
  }
  if (!keepClientSessions(ctx)) {
    fail(why, Setting::Other, 0, fileFailure("OpenSSL", "cannot keep sessions"));
    return nullptr;
  }
  return context;
}

ClientContext::~ClientContext() {
  SSL_CTX_free(ctx_);
}

std::unique_ptr<TlsTransport> ClientContext::open(int fd, const std::string& peer,
                                                  std::optional<uint32_t> session) const {
  std::unique_ptr<TlsTransport> transport =
      TlsTransport::create(fd, ctx_, TlsTransport::Side::Client);
  if (!transport) return nullptr;
  if (!setPeer(transport->ssl(), peer, verify_)) {
    ERR_clear_error();
    return nullptr;  // closes the fd
  }
  if (session) resumeSession(transport->ssl(), *session);
  return transport;
}

}  // namespace fulcrum::tls
