// How a Stream moves bytes over its connection: the seam that libevent's
// bufferevent_ops and Envoy's transport sockets are. The plain socket is
// one transport (net/socket_transport.h); TLS is another. A Stream owns its
// transport and calls it only from its loop's thread.
//
// Readiness: the stream waits on fd() for the direction an operation asked
// for. A plain socket only ever asks for the direction of the operation
// itself; a transport may ask for the other one (a TLS read that must
// write first), and the stream then waits for that instead.
#pragma once

#include <event2/buffer.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace fulcrum::net {

struct IoResult {
  enum class Status {
    Done,       // `bytes` moved (read: > 0)
    WantRead,   // nothing moved; try again when fd() is readable
    WantWrite,  // nothing moved; try again when fd() is writable
    Eof,        // read: the peer closed its side
    Error,      // the connection failed; `error` is the errno
  };
  Status status = Status::Done;
  size_t bytes = 0;
  int error = 0;

  static IoResult done(size_t bytes) { return {Status::Done, bytes, 0}; }
  static IoResult wantRead() { return {Status::WantRead, 0, 0}; }
  static IoResult wantWrite() { return {Status::WantWrite, 0, 0}; }
  static IoResult eof() { return {Status::Eof, 0, 0}; }
  static IoResult failed(int error) { return {Status::Error, 0, error}; }
  bool waits() const { return status == Status::WantRead || status == Status::WantWrite; }
};

class Transport {
 public:
  virtual ~Transport() = default;  // closes the connection

  // The descriptor the stream waits on; fixed for the transport's life.
  virtual int fd() const = 0;
  // The connect's last step (a TLS handshake); the connector calls it
  // until it is Done or fails, waiting as it asks. Done at once for a
  // plain socket.
  virtual IoResult handshake() = 0;
  // Reads at most `size` bytes into `into`.
  virtual IoResult read(void* into, size_t size) = 0;
  // Writes from the front of `from`, as much as the connection takes, and
  // drains what was written.
  virtual IoResult write(evbuffer* from) = 0;
  // Ends the sending side (FIN; TLS: close_notify, then FIN). Called once,
  // when the stream's output is empty.
  virtual void shutdownWrite() = 0;
  // The connection is about to be closed with nothing more to send or
  // read: the protocol's last word, if it has one (TLS: close_notify, so
  // the peer can tell the end from a cut and keeps its session). The
  // close itself sends the FIN.
  virtual void beforeClose() {}
  // Why the last Error happened, in the transport's own words (TLS:
  // OpenSSL's reason, "certificate verify failed (hostname mismatch)");
  // empty when the errno says it all, as for a plain socket.
  virtual std::string failureReason() const { return {}; }
  // The last Error was the peer refusing the handshake after this side had
  // finished its own part of it (TLS 1.3: a server that rejects the client
  // certificate says so only then, at the client's first read): nothing
  // sent over the connection was processed.
  virtual bool refusedHandshake() const { return false; }
};

// Makes the transport of a connected socket (owns `fd` from then on); null
// when it cannot (the fd is then closed).
using TransportFactory = std::function<std::unique_ptr<Transport>(int fd)>;

}  // namespace fulcrum::net
