// The OpenSSL context of one TLS health checker (a probe): TLS 1.2 or newer,
// and NO certificate verification — a probe only asks "does the server
// complete a handshake", not "is its certificate trusted". Sessions are
// never resumed (each probe makes a full handshake).
//
// Owns its SSL_CTX; SSL objects made from it hold their own reference, so
// they may outlive it. Use from one thread at a time.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace fulcrum::tls {

class ProbeContext {
 public:
  // Null with `why` (OpenSSL's errors) when OpenSSL cannot make a context.
  static std::unique_ptr<ProbeContext> create(std::string& why);

  ~ProbeContext();
  ProbeContext(const ProbeContext&) = delete;
  ProbeContext& operator=(const ProbeContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit ProbeContext(SSL_CTX* ctx) : ctx_(ctx) {}

  SSL_CTX* ctx_;
};

}  // namespace fulcrum::tls
