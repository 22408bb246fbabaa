// The TLS transport (net/transport.h) over a non-blocking socket it owns:
// OpenSSL reads and writes the socket itself (SSL_set_fd), so a record
// costs one recv or send, without libevent's bufferevent_openssl layer in
// between. Client and server side differ only in the handshake's
// direction, set at construction.
//
// Writes are at most one record (16 KiB) at a time, taken from the front
// of the evbuffer and drained only once OpenSSL has sent them; partial
// writes and moving buffers are enabled so a retry after WantWrite may
// come with more bytes behind the same front.
//
// One loop thread at a time; the SSL object is the transport's.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "net/transport.h"

namespace fulcrum::tls {

class TlsTransport final : public net::Transport {
 public:
  enum class Side { Client, Server };

  // Takes ownership of the connected, non-blocking `fd`; null when OpenSSL
  // cannot make the SSL object (the fd is then closed). A client sends
  // `server_name` as SNI when it is not empty.
  static std::unique_ptr<TlsTransport> create(int fd, SSL_CTX* ctx, Side side,
                                              const std::string& server_name = "");
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  int fd() const override { return fd_; }
  net::IoResult handshake() override;
  net::IoResult read(void* into, size_t size) override;
  net::IoResult write(evbuffer* from) override;
  void shutdownWrite() override;
  void beforeClose() override;

  SSL* ssl() const { return ssl_; }
  // Why the last Error happened, for logs: OpenSSL's reason ("wrong
  // version number"; a failed verification says which check failed:
  // "certificate verify failed (hostname mismatch)").
  const std::string& lastError() const { return last_error_; }
  // The oldest OpenSSL error code behind it (ERR_GET_REASON gives
  // SSL_R_...), 0 when the socket failed without one: what
  // tls/handshake_result.h classifies.
  unsigned long lastErrorCode() const { return last_error_code_; }
  std::string failureReason() const override { return last_error_; }
  bool refusedHandshake() const override { return refused_handshake_; }

 private:
  TlsTransport(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  // Maps SSL_get_error() for a call that returned `ret`.
  net::IoResult failure(int ret);
  // A client that has read nothing yet: a failure now may be the server
  // refusing the handshake (refusedHandshake()).
  bool mayBeRefused() const;
  // After a failed write: reads the server's refusal if it sent one.
  void lookForRefusal();

  int fd_;
  SSL* ssl_;
  std::string last_error_;
  unsigned long last_error_code_ = 0;
  bool read_any_ = false;  // a byte of application data came
  bool refused_handshake_ = false;
};

}  // namespace fulcrum::tls
