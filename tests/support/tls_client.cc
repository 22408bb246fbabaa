#include "support/tls_client.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdlib>

namespace fulcrum::test {
namespace {

std::string openSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown TLS error" : text;
}

// "HTTP/1.1 200 OK\r\nA: b\r\n..." -> HttpMessage (head only).
HttpMessage parseHead(const std::string& head) {
  HttpMessage message;
  size_t line_end = head.find("\r\n");
  message.start_line = head.substr(0, line_end);
  if (message.start_line.size() >= 12) message.status = std::atoi(message.start_line.c_str() + 9);
  size_t at = line_end + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string::npos || end == at) break;
    const std::string line = head.substr(at, end - at);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t value = line.find_first_not_of(' ', colon + 1);
      message.fields.emplace_back(line.substr(0, colon),
                                  value == std::string::npos ? "" : line.substr(value));
    }
    at = end + 2;
  }
  return message;
}

}  // namespace

TlsClient::TlsClient(uint16_t port, const std::string& name, const TlsClientOptions& options) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (SSL_CTX_load_verify_locations(ctx_, options.ca.c_str(), nullptr) != 1 ||
      (!options.certificate.empty() &&
       (SSL_CTX_use_certificate_chain_file(ctx_, options.certificate.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options.key.c_str(), SSL_FILETYPE_PEM) != 1))) {
    error_ = openSslErrors();
    return;
  }
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT);
  fd_ = connectLoopback(port);
  if (!fd_) {
    error_ = "cannot connect";
    return;
  }
  timeval limit{10, 0};
  setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_.get());
  SSL_set_tlsext_host_name(ssl_, name.c_str());
  SSL_set1_host(ssl_, name.c_str());
  if (!options.alpn.empty()) {
    std::string wire(1, static_cast<char>(options.alpn.size()));
    wire += options.alpn;
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
}

bool TlsClient::handshake() {
  if (ssl_ == nullptr) return false;
  if (SSL_connect(ssl_) != 1) {
    error_ = openSslErrors();
    return false;
  }
  connected_ = true;
  return true;
}

void TlsClient::resumeWith(SSL_SESSION* session) {
  if (ssl_ != nullptr) SSL_set_session(ssl_, session);
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) {
    if (connected_) SSL_shutdown(ssl_);  // close_notify keeps the session resumable
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

bool TlsClient::readMore(std::string& into) {
  char chunk[16384];
  size_t got = 0;
  if (SSL_read_ex(ssl_, chunk, sizeof(chunk), &got) != 1) return false;
  into.append(chunk, got);
  return true;
}

std::optional<HttpMessage> TlsClient::exchange(const std::string& bytes) {
  if (!connected_ && !handshake()) return std::nullopt;
  size_t written = 0;
  if (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) != 1) return std::nullopt;
  std::string in;
  size_t head_end;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos)
    if (!readMore(in)) return std::nullopt;
  HttpMessage message = parseHead(in.substr(0, head_end + 2));
  std::string body = in.substr(head_end + 4);
  if (auto length = message.field("Content-Length")) {
    const size_t wanted = std::stoul(*length);
    while (body.size() < wanted)
      if (!readMore(body)) return std::nullopt;
  } else {
    while (readMore(body)) {
    }
  }
  message.body = body;
  return message;
}

bool TlsClient::readToCloseNotify() {
  std::string ignored;
  while (readMore(ignored)) {
  }
  return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
}

std::string TlsClient::serverSerial() const {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (peer == nullptr) return "";
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
  char* hex = BN_bn2hex(number);
  std::string serial = hex;
  OPENSSL_free(hex);
  BN_free(number);
  X509_free(peer);
  return serial;
}

std::string clientHello(const std::string& name) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), out);  // `ssl` owns both
  SSL_set_tlsext_host_name(ssl, name.c_str());
  SSL_connect(ssl);  // writes the ClientHello, then wants the server's answer
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(length));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

std::string TlsClient::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

}  // namespace fulcrum::test
