// global.max_connections: one limit on client connections for the whole
// process, shared by every worker (as HAProxy's maxconn, not nginx's
// per-worker worker_connections: with SO_REUSEPORT the kernel, not load,
// decides which worker a connection lands on, and a per-worker share would
// hold connections back on one worker while another has room).
//
// Counting is one atomic add per accepted and per closed connection. When
// the count reaches the limit every member (worker) is told to stop
// accepting, and new connections wait in the kernel's listen backlog; when
// a close makes room, every member is told to accept again. Members are
// told only on those two transitions, under a mutex, so the order of what
// they are told is the order of the transitions.
//
// A member that accepted the connection reaching the limit learns it from
// add() and stops at once; the others stop when their notice is handled.
// Until then each may accept the one connection its accept() already had,
// so the count can pass the limit by at most workers - 1.
//
// Thread-safe. Members outlive their membership (join .. leave).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace fulcrum::net {

class ConnectionLimit {
 public:
  // How a worker's accepting is paused and resumed. Called on whatever
  // thread crossed the limit, with the limit's mutex held: it must only
  // post to the member's own loop, and there read full().
  class Member {
   public:
    virtual void limitChanged() = 0;

   protected:
    ~Member() = default;
  };

  explicit ConnectionLimit(size_t max);

  void join(Member& member);
  void leave(Member& member);

  // Counts an accepted connection. True when the process is at (or over)
  // the limit now: the caller stops accepting before its next accept().
  bool add();
  // Counts `count` closed connections; tells the members when that makes room.
  void remove(size_t count = 1);
  // A new limit (reload); members are told if it changes full().
  void setMax(size_t max);

  size_t max() const { return max_.load(std::memory_order_relaxed); }
  size_t active() const { return active_.load(std::memory_order_relaxed); }
  // Whether accepting is paused: the state of the last transition.
  bool full() const { return full_.load(std::memory_order_acquire); }

  // Connections that waited in a listen backlog because of the limit, by
  // listener name (fulcrum_downstream_connections_limited_total).
  void addLimited(const std::string& listener, uint64_t count);
  uint64_t limited(const std::string& listener) const;

 private:
  // Decides full() from the counts now; tells the members if it changed.
  // Returns full().
  bool settle();

  std::atomic<size_t> active_{0};
  std::atomic<size_t> max_;
  std::atomic<bool> full_{false};
  mutable std::mutex mutex_;
  std::vector<Member*> members_;
  std::map<std::string, uint64_t> limited_;
};

}  // namespace fulcrum::net
