// A TLS server for tests: listens on 127.0.0.1 with a kernel-chosen port,
// on its own thread, with a self-signed certificate (EC P-256, CN
// "localhost") made in memory when it starts — no files, no openssl CLI —
// or with given certificate files. Sessions resume (its session cache and
// tickets are OpenSSL's defaults). Connections are served one at a time:
// the server completes the handshake (a TLS 1.3 server then sends its
// session tickets), sends close_notify and closes. Every socket operation
// is bounded (2 s), so a client that stalls cannot hold it. The destructor
// stops and joins.
// Ignores SIGPIPE for the process, as fulcrum itself does.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/net.h"

namespace fulcrum::test {

// A self-signed certificate for "localhost" on a fresh P-256 key, both
// installed into `ctx`; throws when OpenSSL cannot make them.
void installSelfSigned(SSL_CTX* ctx);

class TlsServer {
 public:
  TlsServer();
  // Serves the PEM chain `certificate` with `key` (test_pki.h); throws when
  // OpenSSL cannot read them.
  TlsServer(const std::string& certificate, const std::string& key);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  uint16_t port() const { return port_; }
  // Handshakes completed so far, and those of them that resumed a session.
  int handshakes() const { return handshakes_.load(); }
  int resumed() const { return resumed_.load(); }
  // The SNI name of each ClientHello received, in order ("" = none sent;
  // OpenSSL calls the servername callback with or without SNI).
  // A name is recorded before the server answers the ClientHello, so it is
  // here once the client's handshake has completed.
  std::vector<std::string> serverNames();

 private:
  static int onServerName(SSL* ssl, int* alert, void* self);
  // Listens and starts the thread, once ctx_ has its certificate.
  void start();
  void serve();
  void handshake(int fd);

  SSL_CTX* ctx_ = nullptr;
  uint16_t port_ = 0;
  Fd listener_;
  int wake_[2] = {-1, -1};
  std::atomic<int> handshakes_{0};
  std::atomic<int> resumed_{0};
  std::mutex mutex_;
  std::vector<std::string> server_names_;
  std::thread thread_;
};

}  // namespace fulcrum::test
