// The admin listener's own limits, which libevent 2.1's evhttp lacks:
//  - at most `max` connections open (global.admin.max_connections): at the
//    cap the listener stops accepting (new connections wait in its listen
//    backlog) and starts again when one closes;
//  - accept() failing (EMFILE, ENFILE, ...) pauses accepting for 100ms.
//    evhttp sets no error callback on its listener, so libevent would log
//    "Error from accept() call" and, the socket being still readable, call
//    accept() again on the next loop iteration: a busy loop writing a line
//    each time, for as long as descriptors are short.
//
// How connections are counted: evhttp asks for each new connection's
// bufferevent (evhttp_set_bevcb); the cap makes it and holds a reference.
// evhttp then makes the connection and sets itself as the bufferevent's
// callback argument. Still within the same loop iteration, before the new
// connection can see any I/O, an event activated by the cap finds the
// connection there and sets its close callback, which evhttp calls when it
// frees the connection (a bufferevent evhttp freed meanwhile has no
// callbacks left and is simply not counted).
//
// The close callback of every admin connection is the cap's: whoever else
// needs to hear of a close (the AdminServer's pending /metrics) asks
// track() and gets `closed`.
//
// Threading: the loop's thread only (the admin listener's control loop).
// Lifetime: attach() once; detach() before evhttp_free(); the cap outlives
// the evhttp (evhttp_free closes connections, calling `closed`).
#pragma once

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::admin {

class ConnectionCap {
 public:
  using Closed = std::function<void(evhttp_connection*)>;

  ConnectionCap(net::EventLoop& loop, size_t max, Closed closed);
  ~ConnectionCap();
  ConnectionCap(const ConnectionCap&) = delete;
  ConnectionCap& operator=(const ConnectionCap&) = delete;

  // `listener` is the only one bound to `http` (evhttp_bind_listener).
  void attach(evhttp* http, evconnlistener* listener);
  // Stops touching the listener (evhttp_free frees it before the
  // connections, whose closes still arrive).
  void detach();
  // Makes sure `closed` runs when `connection` goes (idempotent; the
  // connections the cap counted are tracked already).
  void track(evhttp_connection* connection);

  size_t open() const { return open_; }

 private:
  static bufferevent* onNewConnection(event_base* base, void* self);
  static void onSettle(evutil_socket_t, short, void* self);
  static void onClosed(evhttp_connection* connection, void* self);
  static void onAcceptError(evconnlistener* listener, void* http);

  void settle();
  void pause();
  void maybeResume();

  net::EventLoop& loop_;
  const size_t max_;
  Closed closed_;
  evconnlistener* listener_ = nullptr;
  event* settle_event_ = nullptr;
  std::unique_ptr<net::Timer> error_timer_;  // accepting again after an accept error
  // Made for connections evhttp has not fully set up yet (we hold a ref).
  std::vector<bufferevent*> unsettled_;
  // Every connection whose close callback is ours; true = counted in open_.
  std::unordered_map<evhttp_connection*, bool> tracked_;
  size_t open_ = 0;
  bool paused_at_cap_ = false;
};

}  // namespace fulcrum::admin
