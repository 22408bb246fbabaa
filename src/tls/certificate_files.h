// PEM files into an OpenSSL context, for a listener's server context and an
// upstream's client context alike. A failure names the file, says why in
// plain words (OpenSSL's reason in parentheses), and says which setting
// named the file, so the config check can point at the key that did.
// Control thread only (the contexts are loaded there).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <string>

namespace fulcrum::tls {

struct CertificateFiles {
  std::string certificate;  // PEM: the leaf first, then its chain
  std::string key;          // PEM private key

  bool operator==(const CertificateFiles&) const = default;
};

// Why a load failed: which setting, for the config's file:line:column,
// and the text ("api.key: does not match the certificate api.pem").
struct LoadFailure {
  enum class Setting {
    Certificate,
    Key,
    Ciphers,
    ClientCa,  // a listener's client_ca
    Ca,        // an upstream's ca
    Other,
  };
  Setting setting = Setting::Other;
  size_t index = 0;  // of the certificate, for Certificate and Key
  std::string text;
};

void fail(LoadFailure& failure, LoadFailure::Setting setting, size_t index, std::string text);

// "<file>: <what> (<OpenSSL's reason>)"; empties OpenSSL's error queue.
std::string fileFailure(const std::string& file, const std::string& what);

// Installs the chain and the key of `files` (index `index` of its setting)
// in `ctx` and checks that they match; false with `why` when they cannot
// be read or do not match.
bool useCertificate(SSL_CTX* ctx, const CertificateFiles& files, size_t index, LoadFailure& why);

// Trusts the CA certificates of the PEM `file` to verify peers; false with
// `why` (at `setting`) when it cannot be read.
bool trustCaFile(SSL_CTX* ctx, const std::string& file, LoadFailure::Setting setting,
                 LoadFailure& why);

}  // namespace fulcrum::tls
