// A backend that keeps, byte for byte, everything each connection brought
// it: a PROXY header if one came, then the HTTP requests or TCP bytes. The
// tests of forwarding fields and of the PROXY protocol compare those bytes
// with what a server must receive, exactly.
//
// Http: a v1 or v2 PROXY header, when the connection opens with one, is
// framed by its own rules (a v2 header begins with CRLF CRLF), then each
// request head (and a Content-Length body) is answered with
// "HTTP/1.1 200 OK", Content-Length, "X-Backend: NAME" and body "NAME\n",
// kept alive. Tcp: "NAME\n" is sent at accept, then everything is read to
// EOF.
//
// Loopback only, a kernel-chosen port; a thread per connection (TcpBackend);
// every read bounded by a deadline. (RawBackend, raw_backend.h, records
// requests as HTTP messages and answers as a test chooses; this one keeps
// whole connections, PROXY header included.) Also: connecting to the proxy
// from another loopback address, to be a trusted or an untrusted peer.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "support/net.h"

namespace fulcrum::test {

class ConnectionRecorder {
 public:
  enum class Kind { Http, Tcp };

  explicit ConnectionRecorder(std::string name, Kind kind = Kind::Http);
  uint16_t port() const { return server_.port(); }
  const std::string& name() const { return name_; }

  // Connections accepted so far.
  int connections() const { return server_.accepted(); }
  // The bytes connection `n` (0 = the first accepted) brought so far.
  std::string received(size_t n) const;
  // Every connection's bytes, one after the other in accept order.
  std::string receivedAll() const;
  // Requests answered (Http), over every connection.
  int answered() const;
  // Waits (bounded) until connection `n` exists and its peer closed it.
  bool waitClosed(size_t n) const;
  // Waits (bounded) until `answered()` reaches `count`.
  bool waitAnswered(int count) const;

 private:
  struct Record {
    std::string bytes;
    bool closed = false;
  };
  size_t open();
  void append(size_t n, const char* data, size_t length);
  void serveHttp(int fd, size_t n);
  void serveTcp(int fd, size_t n);

  std::string name_;
  Kind kind_;
  mutable std::mutex mutex_;
  std::vector<Record> records_;  // under mutex_
  int answered_ = 0;             // under mutex_
  TcpBackend server_;            // last: its threads use the members above
};

// The answer a ConnectionRecorder in Http mode gives, and that answer as a
// client gets it through fulcrum (which adds X-Fulcrum-Attempts: 1, and
// Connection: close when the client asked for it: `close`).
std::string recorderAnswer(const std::string& name);
std::string proxiedAnswer(const std::string& name, bool close = false);

// Connects to 127.0.0.1:port from `source` (another loopback address, such
// as 127.0.0.2): an invalid Fd on failure.
Fd connectFrom(const std::string& source, uint16_t port);

// One response as a client reads it, byte for byte (REQUIREs it whole).
std::string readRawResponse(int fd);

// The X-Request-Id value in `head` (empty when none): to check a generated
// id, then compare the rest byte for byte.
std::string requestIdIn(const std::string& head);

}  // namespace fulcrum::test
