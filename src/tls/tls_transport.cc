#include "tls/tls_transport.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tls/error_text.h"

namespace fulcrum::tls {
namespace {

constexpr size_t kMaxRecord = 16 * 1024;

// The alerts a server sends when it refuses the client's certificate (or
// the lack of one). They belong to the handshake only: fulcrum never
// allows post-handshake authentication.
bool refusesCertificate(int reason) {
  switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::unique_ptr<TlsTransport> TlsTransport::create(int fd, SSL_CTX* ctx, Side side,
                                                   const std::string& server_name) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    ::close(fd);
    return nullptr;
  }
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  if (side == Side::Client) {
    SSL_set_connect_state(ssl);
    if (!server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  } else {
    SSL_set_accept_state(ssl);
  }
  return std::unique_ptr<TlsTransport>(new TlsTransport(fd, ssl));
}

TlsTransport::~TlsTransport() {
  // OpenSSL drops the session of a connection freed without close_notify
  // from the cache, and marks it unusable for tickets too: every client
  // that just hangs up would cost the next one a full handshake. A
  // connection ends here for good either way, so say it was shut down
  // cleanly, as nginx does.
  if (SSL_is_init_finished(ssl_)) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
  ::close(fd_);
}

net::IoResult TlsTransport::failure(int ret) {
  const int error = SSL_get_error(ssl_, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return net::IoResult::wantRead();
    case SSL_ERROR_WANT_WRITE:
      return net::IoResult::wantWrite();
    case SSL_ERROR_ZERO_RETURN:
      return net::IoResult::eof();  // close_notify
    case SSL_ERROR_SYSCALL: {
      const int saved = errno;
      last_error_ = drainErrors(&last_error_code_);
      if (saved == EAGAIN || saved == EWOULDBLOCK || saved == EINTR)
        return SSL_want_write(ssl_) ? net::IoResult::wantWrite() : net::IoResult::wantRead();
      // A FIN without close_notify: HTTP's own framing says whether a
      // message was cut short, as it does over plain TCP.
      if (saved == 0) return net::IoResult::eof();
      if (last_error_.empty()) last_error_ = "socket error";
      return net::IoResult::failed(saved);
    }
    default: {
      // OpenSSL says only "certificate verify failed"; the verification
      // result says which check failed ("hostname mismatch").
      const bool unverified =
          ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED;
      last_error_ = drainErrors(&last_error_code_);
      if (last_error_.empty()) last_error_ = "TLS error";
      const long verified = SSL_get_verify_result(ssl_);
      if (unverified && verified != X509_V_OK)
        last_error_ += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
      return net::IoResult::failed(EPROTO);
    }
  }
}

net::IoResult TlsTransport::handshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) return net::IoResult::done(0);
  net::IoResult result = failure(ret);
  // The peer closed in the middle of the handshake: a failure, not an end.
  if (result.status == net::IoResult::Status::Eof) {
    if (last_error_.empty()) last_error_ = "the peer closed the connection during the handshake";
    return net::IoResult::failed(ECONNRESET);
  }
  return result;
}

net::IoResult TlsTransport::read(void* into, size_t size) {
  ERR_clear_error();
  size_t got = 0;
  const int ret = SSL_read_ex(ssl_, into, size, &got);
  if (ret == 1) {
    read_any_ = true;
    return net::IoResult::done(got);
  }
  // A TLS 1.3 client finishes its handshake before the server has checked
  // the client's certificate; a refusal arrives as an alert instead of
  // the first response byte.
  refused_handshake_ = mayBeRefused() && SSL_get_error(ssl_, ret) == SSL_ERROR_SSL &&
                       refusesCertificate(ERR_GET_REASON(ERR_peek_last_error()));
  return failure(ret);
}

bool TlsTransport::mayBeRefused() const {
  return !read_any_ && SSL_is_server(ssl_) == 0;
}

void TlsTransport::lookForRefusal() {
  if (!mayBeRefused()) return;
  // A server that refused the handshake sent its alert, then closed,
  // often with our request unread, so its kernel reset the connection and
  // our write failed first. The alert came before the reset: it is still
  // there to read. A peek leaves any application data where it is.
  ERR_clear_error();
  char byte = 0;
  size_t got = 0;
  const int ret = SSL_peek_ex(ssl_, &byte, 1, &got);
  if (ret != 1 && SSL_get_error(ssl_, ret) == SSL_ERROR_SSL &&
      refusesCertificate(ERR_GET_REASON(ERR_peek_last_error()))) {
    refused_handshake_ = true;
    last_error_ = drainErrors();
  }
  ERR_clear_error();
}

net::IoResult TlsTransport::write(evbuffer* from) {
  const size_t pending = evbuffer_get_length(from);
  if (pending == 0) return net::IoResult::done(0);
  const size_t size = std::min(pending, kMaxRecord);
  // One record's bytes in a row: a copy only when they span chunks.
  const unsigned char* bytes = evbuffer_pullup(from, static_cast<ev_ssize_t>(size));
  if (bytes == nullptr) return net::IoResult::failed(ENOMEM);
  ERR_clear_error();
  size_t sent = 0;
  const int ret = SSL_write_ex(ssl_, bytes, size, &sent);
  if (ret == 1) {
    evbuffer_drain(from, sent);
    return net::IoResult::done(sent);
  }
  net::IoResult result = failure(ret);
  if (result.status == net::IoResult::Status::Eof) result = net::IoResult::failed(EPIPE);
  if (result.status == net::IoResult::Status::Error) lookForRefusal();
  return result;
}

void TlsTransport::shutdownWrite() {
  beforeClose();
  ::shutdown(fd_, SHUT_WR);
}

void TlsTransport::beforeClose() {
  ERR_clear_error();
  // close_notify; a peer that is gone or slow does not stop the FIN.
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace fulcrum::tls
