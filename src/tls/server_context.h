// The TLS side of one listener: its certificates (SNI picks one; the first
// is the default), protocol floor, TLS 1.2 ciphers, ALPN, client
// certificate verification and session resumption, loaded from files.
//
// One OpenSSL context per certificate, all set up alike; a handshake starts
// on the first one, and the servername callback moves it to the context
// whose certificate names the requested host. Session tickets are sealed
// with the listener's TicketKeys whatever certificate was picked, and
// those keys outlive the context (a reload keeps them); the contexts are
// shared by every worker, so a session made on one worker resumes on any
// other.
//
// Immutable once loaded, and shared read-only by the workers of a Runtime
// (SSL_new on a shared context is thread-safe); a reload loads a new one,
// and connections already open keep the SSL objects of the old.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/certificate_files.h"
#include "tls/certificate_info.h"
#include "tls/ticket_keys.h"

namespace fulcrum::tls {

enum class ClientVerify { Off, Optional, Required };

struct ServerSettings {
  std::vector<CertificateFiles> certificates;  // at least one; the first is the default
  int min_version = TLS1_2_VERSION;            // or TLS1_3_VERSION
  std::string ciphers;                         // TLS 1.2 list; empty = Mozilla intermediate
  std::string client_ca;                       // PEM; needed unless verify is Off
  ClientVerify client_verify = ClientVerify::Off;
  bool session_tickets = true;
  bool alpn_http11 = false;  // offer "http/1.1" (HTTP listeners)
  // Seals tickets; kept across reloads by the Runtime. Null: OpenSSL's own
  // keys, made per context (the config check).
  std::shared_ptr<TicketKeys> ticket_keys;
  // What a session is valid for: a session resumes only on a context of the
  // same text, so a session of one listener never skips another's client
  // verification. Empty: one fixed context.
  std::string session_context;
};

class ServerContext {
 public:
  // Loads every file; null on failure, with `failure` saying why.
  static std::shared_ptr<const ServerContext> load(const ServerSettings& settings,
                                                   LoadFailure& failure);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The context a handshake starts on.
  SSL_CTX* initial() const { return entries_.front().ctx; }
  const std::vector<CertificateInfo>& certificates() const { return certificates_; }

  // The index of the certificate for `host_name` (exact name first, then a
  // "*.domain" wildcard of one label; otherwise the first). Public for tests.
  size_t pick(const std::string& host_name) const;

 private:
  struct Entry {
    SSL_CTX* ctx = nullptr;
  };
  ServerContext() = default;
  static int onServerName(SSL* ssl, int* alert, void* self);

  std::vector<Entry> entries_;
  std::vector<CertificateInfo> certificates_;
};

// The Mozilla "intermediate" TLS 1.2 cipher list (TLS 1.3 suites are
// OpenSSL's defaults, all of them strong).
extern const char* const kIntermediateCiphers;

}  // namespace fulcrum::tls
