#include "tls/client_cert.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/hex.h"
#include "tls/tls_transport.h"

namespace fulcrum::tls {
namespace {

std::string subjectText(X509* certificate) {
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return "";
  X509_NAME_print_ex(out, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<size_t>(length > 0 ? length : 0));
  BIO_free(out);
  return text;
}

std::string sha256Hex(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &length) != 1) return "";
  std::string hex(2 * length, '\0');
  writeHex(digest, length, hex.data());
  return hex;
}

}  // namespace

std::string forwardedClientCert(const net::Transport& transport) {
  const auto* tls = dynamic_cast<const TlsTransport*>(&transport);
  if (tls == nullptr || SSL_get_verify_result(tls->ssl()) != X509_V_OK) return "";
  X509* certificate = SSL_get0_peer_certificate(tls->ssl());
  if (certificate == nullptr) return "";
  std::string subject;
  for (char c : subjectText(certificate)) {
    if (c == '"' || c == '\\') subject.push_back('\\');
    subject.push_back(c);
  }
  return "Hash=" + sha256Hex(certificate) + ";Subject=\"" + subject + "\"";
}

}  // namespace fulcrum::tls
