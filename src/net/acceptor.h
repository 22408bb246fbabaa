// Accepts client connections on one listening socket, on one EventLoop,
// and hands each over as a Stream on a plain socket (TCP_NODELAY set: a
// proxy forwards what it has at once).
//
// Two things stop accepting, independently; it goes on only when neither
// holds (new connections wait in the kernel's listen backlog meanwhile):
//  - pause() .. resume(), the owner's (a connection limit);
//  - an accept() that fails (EMFILE, ENFILE, ...): accepting stops for
//    kErrorPause, or the socket, still readable, would have the loop call
//    accept() again at once, for as long as the error lasts.
//
// Lifetime: `accepted` and `failed` run on the loop's thread, from the
// loop, never inside a method of the Acceptor. They may call pause() and
// resume(), but must not destroy the Acceptor. Destroying it closes the
// listening socket and cancels both callbacks and the error pause; the
// loop must outlive it.
#pragma once

#include <event2/listener.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/socket_address.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "net/transport.h"

namespace fulcrum::net {

class Acceptor {
 public:
  // A new connection, nothing read from it yet; `peer` is the client.
  using Accepted = std::function<void(std::unique_ptr<Stream> stream, const SocketAddress& peer)>;
  // accept() failed with `error` (an errno); accepting is paused already.
  using Failed = std::function<void(int error)>;

  static constexpr std::chrono::milliseconds kErrorPause{100};

  // Takes ownership of the listening, non-blocking socket `fd`. Each
  // connection's Stream goes over `transport` (null: the plain socket); a
  // transport with a handshake (TLS) has not run it yet.
  Acceptor(EventLoop& loop, int fd, Accepted accepted, Failed failed,
           TransportFactory transport = nullptr);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Stops accepting until resume(). Called from `accepted`, it takes
  // effect before the next accept() of the same burst.
  void pause();
  // Accepts again, unless an accept error's pause still runs (accepting
  // then resumes when it ends).
  void resume();

  // Completed connections waiting in the listen backlog (Linux reports
  // the queue length of a listening TCP socket as tcpi_unacked); 0 when
  // unknown.
  uint64_t backlog() const;
  // The listening socket (-1 when the listener could not be made).
  int fd() const;

 private:
  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                       void* self);
  static void onError(evconnlistener*, void* self);

  EventLoop& loop_;
  evconnlistener* listener_ = nullptr;
  Accepted accepted_;
  Failed failed_;
  TransportFactory transport_;
  Timer error_pause_;
  bool paused_ = false;
};

}  // namespace fulcrum::net
