#include "tls/probe_context.h"

#include <openssl/err.h>

#include "tls/error_text.h"

namespace fulcrum::tls {

std::unique_ptr<ProbeContext> ProbeContext::create(std::string& why) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    why = "cannot create a TLS client context: " + drainErrors();
    return nullptr;
  }
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    why = "cannot require TLS 1.2: " + drainErrors();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Clients cache nothing by default; say so, and refuse tickets so a
  // probe never depends on a previous one.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return std::unique_ptr<ProbeContext>(new ProbeContext(ctx));
}

ProbeContext::~ProbeContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace fulcrum::tls
