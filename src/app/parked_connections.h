// A worker's parked connections: idle kept-alive HTTP client connections
// that wait for their next request without a session (http/parking.h).
// Each is one small record: its socket, its place in the queue of its idle
// timeout, and what its next session needs (the client's address only when
// the socket cannot give it back). The sockets wait in an epoll
// set of their own, which the loop watches as one descriptor: a record
// needs no libevent event (it was 128 bytes more). No timer of
// its own either: connections with the same client_idle timeout are parked
// in the order their deadlines come, so one timer per distinct timeout
// serves them all (a FIFO list, O(1) to add and to remove).
//
// Worker thread only. `resume` and `expired` run from the loop, each
// record's once, after the record left its queue and the epoll set;
// `resume` takes the record (and its socket), `expired` gets it after its
// socket is closed, and the record is freed on return. The worker owns
// this and outlives it.
#pragma once

#include <event2/event.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "app/worker_generation.h"
#include "core/socket_address.h"
#include "net/event_loop.h"
#include "net/session.h"
#include "net/timer.h"

namespace fulcrum::app {

class ParkedConnections;

// An address in the space of an IPv6 socket address (IPv4 fits too, and an
// unnamed Unix peer).
struct CompactAddress {
  uint8_t length = 0;
  unsigned char bytes[sizeof(sockaddr_in6)] = {};

  static bool fits(const SocketAddress& address) {
    return address.length() <= sizeof(sockaddr_in6);
  }
  void store(const SocketAddress& address);
  SocketAddress load() const;
};

struct ParkedLink {
  ParkedLink* prev = this;
  ParkedLink* next = this;
};

// What a parked connection's next session needs that its socket cannot
// tell: the client a PROXY header named, and the local address kept for
// PROXY headers to servers. Most connections have neither and keep none.
struct ParkedAddresses {
  CompactAddress client;
  CompactAddress local;
};

struct ParkedConnection : ParkedLink {
  int fd = -1;
  uint32_t listener_index = 0;  // in `generation`
  std::chrono::steady_clock::time_point deadline;
  // The generation it ran on (kept alive, as its session did) and where it
  // counts in the listener metrics (re-pointed by a reload).
  std::shared_ptr<WorkerGeneration> generation;
  metrics::ListenerCounters* counters = nullptr;
  uint64_t generation_id = 0;
  // Null: the client is the socket's peer, read back when it resumes.
  std::unique_ptr<ParkedAddresses> addresses;

  // The addresses its next session starts with; nullopt when the socket has
  // lost its peer (reset while parked) and there is no session to make.
  std::optional<net::ClientAddresses> resumedAddresses() const;
};
// Every parked connection holds one, so every byte counts (bench/README.md,
// "What an idle connection holds"): 72 bytes, an 80-byte malloc chunk.
static_assert(sizeof(ParkedConnection) <= 72);

class ParkedConnections {
 public:
  using Resume = std::function<void(std::unique_ptr<ParkedConnection> connection)>;
  using Expired = std::function<void(ParkedConnection& connection)>;

  // Aborts when the kernel gives no epoll descriptor (STYLE.md: resource
  // exhaustion at start is fatal).
  ParkedConnections(net::EventLoop& loop, Resume resume, Expired expired);
  // Closes what is left, without callbacks.
  ~ParkedConnections();
  ParkedConnections(const ParkedConnections&) = delete;
  ParkedConnections& operator=(const ParkedConnections&) = delete;

  // `connection` has its fd and deadline set: waits for either.
  void add(std::unique_ptr<ParkedConnection> connection, std::chrono::milliseconds idle_timeout);
  // Every parked connection, out of its queue and no longer waited on.
  std::vector<std::unique_ptr<ParkedConnection>> takeAll();
  // Closes every parked connection, without callbacks; how many there were.
  size_t closeAll();
  size_t size() const { return size_; }
  template <typename Visit>
  void forEach(Visit visit) {
    for (auto& queue : queues_)
      for (ParkedLink* at = queue->head.next; at != &queue->head; at = at->next)
        visit(*static_cast<ParkedConnection*>(at));
  }

 private:
  struct Queue {
    Queue(ParkedConnections& owner, std::chrono::milliseconds timeout)
        : timeout(timeout), timer(owner.loop_, [this, &owner] { owner.expire(*this); }) {}
    std::chrono::milliseconds timeout;
    ParkedLink head;  // oldest deadline first
    net::Timer timer;
  };

  // The epoll set has ready sockets: resumes them.
  void onReady();
  void expire(Queue& queue);
  std::unique_ptr<ParkedConnection> take(ParkedConnection& connection);

  net::EventLoop& loop_;
  Resume resume_;
  Expired expired_;
  // One per distinct client_idle timeout seen; never more than a handful.
  std::vector<std::unique_ptr<Queue>> queues_;
  size_t size_ = 0;
  int epoll_fd_ = -1;
  event* ready_ = nullptr;  // EV_READ | EV_PERSIST on epoll_fd_
  // Set by takeAll(): records of a batch not yet resumed are gone.
  bool batch_cut_ = false;
};

}  // namespace fulcrum::app
