// Where an idle kept-alive HTTP connection goes to wait for its next request
// without its session: the session hands over the bare socket and what the
// next request needs (who the client is, the generation and listener it
// runs on), then ends; a new session is made around the socket when it
// turns readable. The worker implements it (app/parked_connections.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/socket_address.h"
#include "net/session.h"

namespace fulcrum::http {

// How long a kept-alive connection waits for its next request in its
// session before it is parked. Clients that send their next request sooner,
// as every busy one does, never pay for a park and a resume (a few
// allocations and two epoll_ctl each way).
inline constexpr std::chrono::milliseconds kParkDelay{50};
// A waiting session holds about 4 KiB (the session, its stream, buffers and
// timers) where a parked connection holds 0.12. When more than this many
// wait in one worker at once (a crowd of clients that asked once each, a
// reconnect storm), the ones that start waiting after them park after
// kCrowdedParkDelay: memory that a burst leaves behind stays bounded, and a
// busy load (a client's next request within a millisecond) is not parked.
inline constexpr size_t kMostPatientWaits = 256;
inline constexpr std::chrono::milliseconds kCrowdedParkDelay{1};

struct ParkedHttp {
  int fd = -1;  // owned by the parking from the call on
  const SocketAddress* client = nullptr;
  const SocketAddress* local = nullptr;  // empty unless the listener sends PROXY headers
  bool client_is_peer = false;           // `client` is the socket's own peer
  std::shared_ptr<const net::Generation> generation;
  uint64_t generation_id = 0;
  uint32_t listener_index = 0;  // in `generation`
  // Closed (plainly, as an idle session closes) once the connection has
  // been idle this long since `idle_since`, unless a byte comes first.
  std::chrono::steady_clock::time_point idle_since;
  std::chrono::milliseconds idle_timeout{0};
};

// Worker thread only; outlives every session given it.
class ConnectionParking {
 public:
  // Whether such a connection can be parked (its addresses fit the compact
  // record); asked before the session gives its socket up.
  virtual bool canPark(const SocketAddress& client, const SocketAddress& local) const = 0;
  // Takes the connection. The session calls its done callback right after,
  // and that ends its session without ending the connection.
  virtual void park(ParkedHttp connection) = 0;

 protected:
  ~ConnectionParking() = default;
};

// The sessions of one worker that wait for their next request, counted to
// choose how soon each parks. Worker thread only; outlives its sessions. A
// plain class, not part of ConnectionParking: a member call through a
// polymorphic pointer is checked by UBSan's vptr check, whose slow path
// needs a descriptor (a pipe), and sessions wait at every response, the
// ones answered with the process out of descriptors included.
class IdleWaits {
 public:
  // A session starts waiting: how long it waits before it parks. It
  // counts as waiting until it calls ended().
  std::chrono::milliseconds started() {
    return ++waiting_ > kMostPatientWaits ? kCrowdedParkDelay : kParkDelay;
  }
  void ended() { --waiting_; }
  // Sessions between started() and ended().
  size_t waiting() const { return waiting_; }

 private:
  size_t waiting_ = 0;
};

}  // namespace fulcrum::http
