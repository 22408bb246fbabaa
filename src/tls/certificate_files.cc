#include "tls/certificate_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tls/error_text.h"

namespace fulcrum::tls {
namespace {

using Setting = LoadFailure::Setting;

EVP_PKEY* readKey(const std::string& file) {
  FILE* in = std::fopen(file.c_str(), "r");
  if (in == nullptr) return nullptr;
  EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
  std::fclose(in);
  return key;
}

// OpenSSL's text for a missing file is its call stack; say it plainly.
bool opens(const std::string& file, Setting setting, size_t index, LoadFailure& why) {
  FILE* in = std::fopen(file.c_str(), "r");
  if (in != nullptr) {
    std::fclose(in);
    return true;
  }
  fail(why, setting, index, file + ": cannot open: " + std::strerror(errno));
  return false;
}

}  // namespace

void fail(LoadFailure& failure, Setting setting, size_t index, std::string text) {
  failure.setting = setting;
  failure.index = index;
  failure.text = std::move(text);
}

std::string fileFailure(const std::string& file, const std::string& what) {
  std::string reason = drainErrors();
  return file + ": " + what + (reason.empty() ? "" : " (" + reason + ")");
}

bool useCertificate(SSL_CTX* ctx, const CertificateFiles& files, size_t index, LoadFailure& why) {
  if (!opens(files.certificate, Setting::Certificate, index, why) ||
      !opens(files.key, Setting::Key, index, why))
    return false;
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1) {
    fail(why, Setting::Certificate, index,
         fileFailure(files.certificate, "cannot read a PEM certificate chain"));
    return false;
  }
  EVP_PKEY* key = readKey(files.key);
  if (key == nullptr) {
    fail(why, Setting::Key, index, fileFailure(files.key, "cannot read a PEM private key"));
    return false;
  }
  const bool matches = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    fail(why, Setting::Key, index,
         fileFailure(files.key, "does not match the certificate " + files.certificate));
    return false;
  }
  return true;
}

bool trustCaFile(SSL_CTX* ctx, const std::string& file, Setting setting, LoadFailure& why) {
  if (!opens(file, setting, 0, why)) return false;
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    fail(why, setting, 0,
         fileFailure(file, setting == Setting::ClientCa ? "cannot read the client CA certificates"
                                                        : "cannot read the CA certificates"));
    return false;
  }
  return true;
}

}  // namespace fulcrum::tls
