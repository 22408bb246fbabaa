#include "support/tls_server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>

namespace fulcrum::test {

void installSelfSigned(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) throw std::runtime_error("cannot make a key");
  X509_set_version(cert, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  bool ok = X509_sign(cert, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) throw std::runtime_error("cannot install a self-signed certificate");
}

namespace {

void boundIo(int fd) {
  timeval limit{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
}

}  // namespace

TlsServer::TlsServer() {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new");
  installSelfSigned(ctx_);
  start();
}

TlsServer::TlsServer(const std::string& certificate, const std::string& key) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) throw std::runtime_error("SSL_CTX_new");
  if (SSL_CTX_use_certificate_chain_file(ctx_, certificate.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx_);
    throw std::runtime_error("cannot read " + certificate + " and " + key);
  }
  start();
}

void TlsServer::start() {
  std::signal(SIGPIPE, SIG_IGN);
  SSL_CTX_set_tlsext_servername_callback(ctx_, &TlsServer::onServerName);
  SSL_CTX_set_tlsext_servername_arg(ctx_, this);
  listener_ = listenLoopback(port_);
  if (!listener_ || pipe2(wake_, O_CLOEXEC) != 0) {
    SSL_CTX_free(ctx_);
    throw std::runtime_error("cannot listen");
  }
  thread_ = std::thread([this] { serve(); });
}

TlsServer::~TlsServer() {
  char stop = 1;
  ssize_t ignored = write(wake_[1], &stop, 1);
  (void)ignored;
  thread_.join();
  close(wake_[0]);
  close(wake_[1]);
  SSL_CTX_free(ctx_);
}

std::vector<std::string> TlsServer::serverNames() {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_names_;
}

int TlsServer::onServerName(SSL* ssl, int*, void* self) {
  auto* server = static_cast<TlsServer*>(self);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::lock_guard<std::mutex> lock(server->mutex_);
  server->server_names_.emplace_back(name != nullptr ? name : "");
  return SSL_TLSEXT_ERR_OK;
}

void TlsServer::serve() {
  for (int fd; (fd = acceptUntilWoken(listener_.get(), wake_[0])) >= 0;) {
    Fd connection(fd);
    boundIo(fd);
    handshake(fd);
  }
}

void TlsServer::handshake(int fd) {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return;
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    resumed_.fetch_add(SSL_session_reused(ssl) == 1 ? 1 : 0);
    handshakes_.fetch_add(1);
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ERR_clear_error();
}

}  // namespace fulcrum::test
