// A connection a worker accepted and owns (a TCP proxy session, an HTTP
// client connection). The worker calls these on its own loop thread only.
// A session reports its end through the callback it was given at creation;
// the worker then hands it to deferDelete.
#pragma once

#include "core/socket_address.h"
#include "net/event_loop.h"

namespace fulcrum::net {

// Who a client connection is for. Without a PROXY header the peer is the
// client; with one (from a trusted peer), the header names the client and
// the address it connected to, and the peer is the balancer in between.
struct ClientAddresses {
  SocketAddress peer;    // the TCP peer
  SocketAddress client;  // the client: access logs, X-Forwarded-For, source_ip hashing
  // The address the client connected to; filled only for listeners whose
  // sessions send PROXY headers to servers (it costs a getsockname).
  SocketAddress local;
};

// The worker's state for the configuration generation a session started
// on (app::WorkerGeneration derives from it). A session holds it in a
// shared_ptr for as long as it uses anything that state owns; the layers
// below app only keep it alive, never look inside.
struct Generation {
  virtual ~Generation() = default;
};

class Session : public DeferredDeletable {
 public:
  virtual void start() = 0;
  // The process is draining: finish what is in flight, take nothing new
  // (an idle HTTP keep-alive connection closes now).
  virtual void drain() {}
  // The process will drain soon (global.drain_grace): keep serving, but end
  // each HTTP response with Connection: close, so clients reconnect, and
  // find the address moved. An idle connection stays open until drain().
  virtual void closeAfterResponse() {}
  // The worker is stopping now: log the session as cut short. The worker
  // destroys it right after; the end callback is not called.
  virtual void abandon() = 0;
};

}  // namespace fulcrum::net
