// Idle keep-alive connections to the servers of one upstream, in one worker
// (not thread-safe; the worker's loop thread only). A connection given back
// waits here, most recently used first, until it is taken again, its server
// closes it, it sends something unasked, it idles past `idle_timeout`, or
// the server already has `max_idle` waiting (then it is closed at once).
#pragma once

#include <event2/bufferevent.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <vector>

namespace fulcrum::upstream {

class ConnPool {
 public:
  ConnPool(size_t server_count, unsigned max_idle, std::chrono::milliseconds idle_timeout);
  ~ConnPool();
  ConnPool(const ConnPool&) = delete;
  ConnPool& operator=(const ConnPool&) = delete;

  // A live idle connection to server `index`, or nullptr. The caller owns
  // it: no callbacks set, nothing enabled. A connection whose server closed
  // it meanwhile is dropped here, never handed out.
  bufferevent* take(uint32_t index);
  // Keeps `connection` for reuse (or closes it when the server's slots are full).
  void give(uint32_t index, bufferevent* connection);
  size_t idleCount(uint32_t index) const { return idle_[index].size(); }

 private:
  struct Idle {
    ConnPool* pool = nullptr;
    uint32_t server = 0;
    bufferevent* bev = nullptr;
  };
  static void onIdleRead(bufferevent* bev, void* idle);
  static void onIdleEvent(bufferevent* bev, short what, void* idle);
  void drop(Idle* idle);

  unsigned max_idle_;
  timeval idle_timeout_;
  std::vector<std::list<Idle>> idle_;  // by server index; front = most recent
};

}  // namespace fulcrum::upstream
