// Copies bytes both ways between two connected sockets until both
// directions are finished, with bounded buffering and half-close:
//  - Backpressure: when one side's pending output reaches `max_buffered`,
//    the other side is not read until that output drains below half of it.
//    Memory per pump stays near 2 * max_buffered whatever the peers do.
//  - Half-close: a FIN read from one side is passed on (shutdown(SHUT_WR)
//    to the other side) once everything read before it has been written.
//  - Ends when both directions saw their FIN through, on a socket error, or
//    when neither side moved a byte for `idle_timeout`.
// The pump owns both bufferevents (and their fds). `done` runs once, on the
// loop thread; the owner must not destroy the pump inside it (deferDelete).
#pragma once

#include <event2/bufferevent.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::net {

class BytePump {
 public:
  enum class End { Completed, IdleTimeout, Error };
  struct Result {
    End end = End::Completed;
    int side = -1;       // for Error: 0 or 1, the side whose socket failed
    std::string detail;  // for Error: the socket error
  };
  using DoneCallback = std::function<void(const Result&)>;

  // Takes ownership of both bufferevents (created with BEV_OPT_CLOSE_ON_FREE).
  BytePump(EventLoop& loop, bufferevent* side0, bufferevent* side1, size_t max_buffered,
           std::chrono::milliseconds idle_timeout, DoneCallback done);
  ~BytePump();
  BytePump(const BytePump&) = delete;
  BytePump& operator=(const BytePump&) = delete;

  void start();
  // Bytes read from side i (and so written to the other side).
  uint64_t bytesFrom(int side) const { return sides_[side].bytes_read; }

 private:
  struct Side {
    BytePump* pump = nullptr;
    int index = 0;
    bufferevent* bev = nullptr;
    bool read_closed = false;   // FIN seen from this side
    bool write_closed = false;  // FIN sent to this side
    bool read_paused = false;   // stopped reading: the other side is full
    uint64_t bytes_read = 0;
  };

  static void onRead(bufferevent* bev, void* side);
  static void onWrite(bufferevent* bev, void* side);
  static void onEvent(bufferevent* bev, short what, void* side);

  void moveInput(Side& from);
  void sendFinIfDrained(Side& to);
  void checkIdle();
  void finish(const Result& result);

  Side sides_[2];
  size_t max_buffered_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_activity_;
  Timer idle_timer_;
  DoneCallback done_;
  bool finished_ = false;
};

}  // namespace fulcrum::net
