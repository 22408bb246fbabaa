// Copies bytes both ways between two connected streams until both
// directions are finished, with bounded buffering and half-close:
//  - Backpressure: when one side's pending output reaches `max_buffered`,
//    the other side is not read until that output drains below half of it.
//    Memory per pump stays near 2 * max_buffered whatever the peers do.
//  - Half-close: a FIN read from one side is passed on (shutdown(SHUT_WR)
//    to the other side) once everything read before it has been written.
//  - Ends when both directions saw their FIN through, on a socket error, or
//    when neither side moved a byte for `idle_timeout`.
// The pump owns both streams. `done` runs once, on the loop thread; the
// owner must not destroy the pump inside it (deferDelete).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/event_loop.h"
#include "net/stream.h"
#include "net/timer.h"

namespace fulcrum::net {

class BytePump final : private StreamHandler {
 public:
  enum class End { Completed, IdleTimeout, Error };
  struct Result {
    End end = End::Completed;
    int side = -1;       // for Error: 0 or 1, the side whose socket failed
    std::string detail;  // for Error: the socket error
  };
  using DoneCallback = std::function<void(const Result&)>;

  BytePump(EventLoop& loop, std::unique_ptr<Stream> side0, std::unique_ptr<Stream> side1,
           size_t max_buffered, std::chrono::milliseconds idle_timeout, DoneCallback done);
  ~BytePump();
  BytePump(const BytePump&) = delete;
  BytePump& operator=(const BytePump&) = delete;

  void start();
  // Bytes read from side i (and so written to the other side).
  uint64_t bytesFrom(int side) const { return bytes_read_[side]; }

 private:
  void onReadable(Stream& stream) override;
  void onDrained(Stream& stream) override;
  void onClosed(Stream& stream, bool error, int code) override;

  int indexOf(const Stream& stream) const { return &stream == sides_[0].get() ? 0 : 1; }
  void moveInput(int from);
  void sendFinIfDrained(int to);
  void checkIdle();
  void finish(const Result& result);

  EventLoop& loop_;
  std::unique_ptr<Stream> sides_[2];
  bool read_closed_[2] = {false, false};  // FIN seen from that side
  uint64_t bytes_read_[2] = {0, 0};
  size_t max_buffered_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_activity_;
  Timer idle_timer_;
  DoneCallback done_;
  bool finished_ = false;
};

}  // namespace fulcrum::net
