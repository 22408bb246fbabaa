#include "tls/server_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>

namespace fulcrum::tls {

const char* const kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

namespace {

constexpr unsigned char kSessionContext[] = "fulcrum";

// At most SSL_MAX_SID_CTX_LENGTH (32) bytes: a SHA-256 of the text.
void setSessionContext(SSL_CTX* ctx, const std::string& text) {
  if (text.empty()) {
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    return;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  SSL_CTX_set_session_id_context(ctx, digest, std::min(size, unsigned{SSL_MAX_SID_CTX_LENGTH}));
}

int selectHttp11(SSL*, const unsigned char** out, unsigned char* out_length,
                 const unsigned char* offered, unsigned int offered_length, void*) {
  static const unsigned char kOurs[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_length, kOurs, sizeof(kOurs), offered, offered_length) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // a client that offers only h2 still gets HTTP/1.1
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

using Setting = LoadFailure::Setting;

// A context set up as `settings` says, without its certificate.
SSL_CTX* newContext(const ServerSettings& settings, LoadFailure& why) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    fail(why, Setting::Other, 0, fileFailure("OpenSSL", "cannot make a TLS context"));
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, settings.min_version);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  const std::string& ciphers =
      settings.ciphers.empty() ? std::string(kIntermediateCiphers) : settings.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    fail(why, Setting::Ciphers, 0,
         fileFailure("ciphers", "no cipher of the list is known to OpenSSL"));
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_dh_auto(ctx, 1);  // the DHE suites of the intermediate list
  setSessionContext(ctx, settings.session_context);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  if (!settings.session_tickets)
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  else if (settings.ticket_keys)
    TicketKeys::install(ctx, settings.ticket_keys);
  if (settings.alpn_http11) SSL_CTX_set_alpn_select_cb(ctx, selectHttp11, nullptr);
  if (settings.client_verify != ClientVerify::Off) {
    if (!trustCaFile(ctx, settings.client_ca, Setting::ClientCa, why)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx,
                       settings.client_verify == ClientVerify::Required
                           ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                           : SSL_VERIFY_PEER,
                       nullptr);
  }
  return ctx;
}

}  // namespace

std::shared_ptr<const ServerContext> ServerContext::load(const ServerSettings& settings,
                                                         LoadFailure& why) {
  ERR_clear_error();
  std::shared_ptr<ServerContext> context(new ServerContext());
  for (size_t i = 0; i < settings.certificates.size(); ++i) {
    const CertificateFiles& files = settings.certificates[i];
    SSL_CTX* ctx = newContext(settings, why);
    if (ctx == nullptr) return nullptr;
    context->entries_.push_back(Entry{ctx});
    if (!useCertificate(ctx, files, i, why)) return nullptr;
    context->certificates_.push_back(
        describeCertificate(SSL_CTX_get0_certificate(ctx), files.certificate));
  }
  if (context->entries_.empty()) {
    fail(why, Setting::Certificate, 0, "no certificate");
    return nullptr;
  }
  SSL_CTX* first = context->entries_.front().ctx;
  SSL_CTX_set_tlsext_servername_callback(first, &ServerContext::onServerName);
  SSL_CTX_set_tlsext_servername_arg(first, context.get());
  return context;
}

ServerContext::~ServerContext() {
  for (Entry& entry : entries_) SSL_CTX_free(entry.ctx);
}

size_t ServerContext::pick(const std::string& host_name) const {
  if (host_name.empty()) return 0;
  for (size_t i = 0; i < certificates_.size(); ++i)
    for (const std::string& name : certificates_[i].names)
      if (name.rfind("*.", 0) != 0 && nameMatches(name, host_name)) return i;
  for (size_t i = 0; i < certificates_.size(); ++i)
    for (const std::string& name : certificates_[i].names)
      if (name.rfind("*.", 0) == 0 && nameMatches(name, host_name)) return i;
  return 0;
}

int ServerContext::onServerName(SSL* ssl, int* alert, void* self) {
  (void)alert;
  const auto* context = static_cast<const ServerContext*>(self);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const size_t index = name == nullptr ? 0 : context->pick(name);
  if (index != 0) SSL_set_SSL_CTX(ssl, context->entries_[index].ctx);
  // An unknown name gets the default certificate, as nginx and HAProxy do.
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace fulcrum::tls
