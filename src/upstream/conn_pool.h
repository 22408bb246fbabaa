// Idle keep-alive connections to the servers of one upstream, in one worker
// (not thread-safe; the worker's loop thread only). A connection given back
// waits here, most recently used taken first, until it is taken again, its server
// closes it, it sends something unasked, it idles past `idle_timeout`, or
// the server already has `max_idle` waiting (then it is closed at once).
// Without a cap (max_idle = kNoIdleCap, the default), the pool holds what
// the recent peak concurrency needed: most recently used first, so under a
// lower load the surplus stays unused at the back and idles out, and a
// steady load opens no connection after its warm-up.
// A pooled connection still counts against the upstream's circuit breaker
// (max_connections): the pool gives that unit back when it closes one.
// A connection may carry a key: one that opened with a client's PROXY
// header serves that client connection only (as HAProxy hashes the PROXY
// line into its idle connections' key), so it is taken only with the same
// key, and a full server list makes room for it by closing its oldest.
// Each server's list is a vector with the most recent at the back: a
// request gives its connection back and the next takes it with a push and
// a pop, with no allocation once the list has grown to its peak (a list's
// node was a malloc and a free each time), and a server with no idle
// connection holds nothing (a deque allocated about 0.6 KiB per server).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/event_loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "upstream/circuit_breaker.h"

namespace fulcrum::upstream {

class ConnPool final : private net::StreamHandler {
 public:
  // `breaker` may be null (no circuit_breaker); it outlives the pool.
  ConnPool(net::EventLoop& loop, size_t server_count, unsigned max_idle,
           std::chrono::milliseconds idle_timeout, upstream::CircuitBreaker* breaker = nullptr);
  ~ConnPool();
  ConnPool(const ConnPool&) = delete;
  ConnPool& operator=(const ConnPool&) = delete;

  // The most recently used idle connection to server `index` given back
  // with `key`, or nullptr. The caller owns it: no handler, still reading
  // (set a handler before the loop runs again). One the server closed was
  // dropped when that was seen.
  std::unique_ptr<net::Stream> take(uint32_t index, std::string_view key = {});
  // The same, but only a connection given back less than `max_age` ago
  // (older ones stay for other requests).
  std::unique_ptr<net::Stream> take(uint32_t index, std::chrono::milliseconds max_age,
                                    std::string_view key = {});
  // Keeps `connection` for reuse under `key`; when the server's slots are
  // full, an unkeyed one is closed, a keyed one replaces the oldest.
  void give(uint32_t index, std::unique_ptr<net::Stream> connection, std::string_view key = {});
  // Closes every idle connection given back with `key` (its client left).
  void closeKeyed(std::string_view key);
  size_t idleCount(uint32_t index) const { return idle_[index].size(); }
  // Takes over `from`'s idle connections to its server `from_index` as this
  // pool's server `to_index` (a reload keeps the connections of servers that
  // did not change). Both pools must count against the same breaker.
  void adopt(ConnPool& from, uint32_t from_index, uint32_t to_index);

 private:
  struct Idle {
    std::unique_ptr<net::Stream> stream;
    std::chrono::steady_clock::time_point since;
    std::string key;
  };

  // The most recent idle connection to `index` with `key`, if any.
  std::vector<Idle>::iterator find(uint32_t index, std::string_view key);
  std::unique_ptr<net::Stream> takeAt(uint32_t index, std::vector<Idle>::iterator at);

  // Any event on an idle connection means the server closed it or broke
  // protocol: it is dropped.
  void onReadable(net::Stream& stream) override { drop(stream); }
  void onClosed(net::Stream& stream, bool, int) override { drop(stream); }
  void drop(net::Stream& stream);
  // Closes an idle connection (it may be inside its own callback) and
  // gives its max_connections unit back.
  void closeIdle(std::unique_ptr<net::Stream>& stream);
  void sweep();
  void countClosed(size_t connections);

  net::EventLoop& loop_;
  unsigned max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::vector<std::vector<Idle>> idle_;  // by server index; back = most recent
  size_t idle_total_ = 0;
  net::Timer sweep_timer_;  // closes connections idle past the timeout
  upstream::CircuitBreaker* breaker_;
};

}  // namespace fulcrum::upstream
