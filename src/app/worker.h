// A worker thread: its own EventLoop, its own listening socket per listener,
// and every connection it accepts. Nothing here is shared with other
// workers except the immutable Runtime.
// Thread rules: the constructor, start(), announceDrain(), drain(), stop()
// and join() are called from the control thread; everything else runs on
// the worker's own thread. The DrainEvents callbacks run on the worker's
// thread, once each, and must only post to the control loop.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/parked_connections.h"
#include "app/runtime.h"
#include "app/worker_generation.h"
#include "core/random.h"
#include "http/session.h"
#include "metrics/worker_metrics.h"
#include "net/acceptor.h"
#include "net/connection_limit.h"
#include "net/event_loop.h"
#include "net/listen_socket.h"
#include "net/proxy_header_session.h"
#include "net/session.h"
#include "tls/handshake_result.h"
#include "upstream/host_set.h"

namespace fulcrum::app {

// One worker's listening sockets, by listener index.
using WorkerSockets = std::vector<std::vector<net::ListenSocket>>;

// One listener of a new configuration generation, for one worker: keep the
// socket of listener `previous` of the running generation (same address,
// nothing refused across a reload), or start accepting on `socket`.
struct ListenerPlan {
  int previous = -1;
  net::ListenSocket socket;
};

// One worker's counters, in the shape of the generation they were counted
// under (a scrape may meet workers that have not switched yet).
struct MetricsSnapshot {
  std::shared_ptr<const Runtime> runtime;
  metrics::WorkerMetrics counts;
};

struct DrainEvents {
  // The worker's listening sockets are closed; `open` connections remain.
  std::function<void(size_t open)> listeners_closed;
  // No connection is left.
  std::function<void()> drained;
};

class Worker final : private http::GenerationSource,
                     private http::ConnectionParking,
                     private net::ConnectionLimit::Member {
 public:
  // `sockets[i]` are this worker's sockets for runtime->listeners()[i]:
  // one, or more after a takeover from a process with more workers (every
  // socket handed over is accepted on: closing one would reset the
  // connections waiting in its queue).
  // `report` is empty when no upstream has outlier_detection.
  // `limit` (global.max_connections), shared by every worker, outlives
  // them; null = no limit. At the limit this worker stops accepting (new
  // connections wait in the listen backlog) until a close makes room.
  Worker(unsigned id, std::shared_ptr<const Runtime> runtime, WorkerSockets sockets,
         DrainEvents drain_events, ReportAttempt report, net::ConnectionLimit* limit = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // A drain is coming (global.drain_grace): keep accepting, but close
  // every HTTP connection, open or new, after its next response.
  void announceDrain();
  // Stop accepting, let open connections finish, reporting both steps.
  void drain();
  // Leave the loop now; open connections are closed by join().
  void stop();
  void join();
  // Switches to a new configuration generation (SIGHUP reload): new
  // connections and new requests use it, open ones finish on theirs.
  // `listeners[i]` is the plan for runtime->listeners()[i]; listeners of
  // the running generation left out stop accepting. Control thread.
  // `hosts[u]` are upstream u's servers to pick from at once (the health
  // state carried over): applied in the same task, so no request ever sees
  // the new generation without them.
  void applyGeneration(std::shared_ptr<const Runtime> runtime, std::vector<ListenerPlan> listeners,
                       std::vector<upstream::HostSets> hosts);
  // Copies this worker's counters on its own thread and hands the copy,
  // tagged with its generation, to `deliver` there (which must only post).
  // Control thread.
  void snapshotMetrics(std::function<void(MetricsSnapshot)> deliver);
  // New servers to pick from for one upstream of `runtime` (ignored when the
  // worker has moved on to another generation). Control thread.
  // `update` numbers the health monitor's publications (for the debug log).
  void applyHostSets(const std::shared_ptr<const Runtime>& runtime, size_t upstream_index,
                     upstream::HostSets hosts, uint64_t update);

  size_t activeConnections() const { return active_.load(std::memory_order_relaxed); }
  // For /status.json and /metrics; any thread. The configuration generation
  // (Runtime::generation()) new connections and requests start on.
  uint64_t appliedGeneration() const { return applied_generation_.load(std::memory_order_relaxed); }
  // The health monitor's host-set publications applied since the start, over
  // every upstream and generation: one per "update K applied" debug line.
  // Sets for a generation the worker has left are dropped, not counted.
  uint64_t hostSetUpdates() const { return host_set_updates_.load(std::memory_order_relaxed); }

 private:
  struct Listener {
    size_t index = 0;                                       // into runtime->listeners()
    std::vector<std::unique_ptr<net::Acceptor>> acceptors;  // one per socket
    // Connections found in the listen backlog when accepting resumed after
    // the connection limit, not accepted yet: the next ones accepted count
    // as limited (the backlog is first in, first out).
    uint64_t waiting = 0;
    // TLS connections whose handshake runs; they become sessions when it
    // is done (during a drain too), and die with the listener.
    std::unordered_map<net::Stream*, std::unique_ptr<net::Stream>> handshaking;
  };

  // Re-points the open connections' listener counts at `after` (the
  // generation replacing `before`, `plan` its listeners).
  void moveConnectionCounts(const WorkerGeneration& before, WorkerGeneration& after,
                            const std::vector<ListenerPlan>& plan);
  void fillHttpParams(http::HttpSessionParams& params,
                      const std::shared_ptr<WorkerGeneration>& generation, uint64_t generation_id,
                      size_t listener_index);
  // http::GenerationSource
  uint64_t currentGeneration() const override { return generation_id_; }
  bool refresh(http::HttpSessionParams& params) override;
  // http::ConnectionParking: the record waits in pending_park_ for the
  // session's end (sessionDone), which hands it its counters.
  bool canPark(const SocketAddress& client, const SocketAddress& local) const override;
  void park(http::ParkedHttp connection) override;
  // A parked connection's next request (or close) came: a session again.
  void resume(std::unique_ptr<ParkedConnection> connection);
  void parkedExpired(ParkedConnection& connection);
  void countActive();
  std::unique_ptr<Listener> makeListener(size_t index, const std::vector<int>& fds);
  void run();
  void openListeners();
  // After a reload: each listener's sockets follow its defer_accept (the
  // process set it on new ones already).
  void deferAccepts();
  void closeListeners();
  // The acceptor's callbacks (net/acceptor.h): the Listener owns its
  // acceptor, and the worker its listeners, so both outlive the calls.
  void accepted(Listener& listener, std::unique_ptr<net::Stream> connection,
                const SocketAddress& client);
  // A TLS connection: its handshake first, then accepted().
  void startHandshake(Listener& listener, std::unique_ptr<net::Stream> connection,
                      const SocketAddress& client);
  // Logs a failed handshake (debug; a sample at info) and says why it failed.
  tls::HandshakeResult handshakeFailed(const Listener& listener, const net::Stream& stream,
                                       int error, const SocketAddress& client);
  void startSession(Listener& listener, std::unique_ptr<net::Stream> connection,
                    const SocketAddress& client);
  void acceptFailed(const Listener& listener, int error);
  void sessionDone(net::Session& session);
  // The session for a connection just accepted: the listener's own, or
  // first the reading of its PROXY header.
  std::unique_ptr<net::Session> makeSession(const Listener& listener,
                                            std::unique_ptr<net::Stream> connection,
                                            const SocketAddress& peer);
  // The listener's own session, on `generation` (the one the connection
  // was accepted on), whose number is `generation_id`.
  std::unique_ptr<net::Session> makeListenerSession(
      const std::shared_ptr<WorkerGeneration>& generation, uint64_t generation_id,
      size_t listener_index, std::unique_ptr<net::Stream> connection,
      const net::ClientAddresses& addresses, std::function<void(net::Session&)> done,
      bool resumed = false);
  void countProxyRejection(net::Session& session, net::ProxyRejection reason);
  void maybeDrained();
  // net::ConnectionLimit::Member: any thread; posts applyLimit().
  void limitChanged() override;
  void applyLimit();
  void pauseAccepting();
  void resumeAccepting();

  unsigned id_;
  WorkerSockets sockets_;
  DrainEvents drain_events_;
  ReportAttempt report_;
  net::ConnectionLimit* limit_ = nullptr;
  std::thread thread_;
  std::atomic<size_t> active_{0};
  // Set by the constructor, then written by the worker's thread only, when
  // it applies a generation or a host set (rare, never per request); read
  // by the control thread. Atomics and not the post-and-copy round trip of
  // the counters: /status.json is answered at once from what the last round
  // trip brought, so a copy would show a worker on the generation it left a
  // moment ago. Relaxed: each number is read on its own, nothing else is
  // published through it.
  std::atomic<uint64_t> applied_generation_{0};
  std::atomic<uint64_t> host_set_updates_{0};

  // Worker-thread state. The loop is made by the constructor and freed by
  // the destructor; sessions and listeners are freed by run() on exit.
  std::unique_ptr<net::EventLoop> loop_;
  Random random_;
  std::shared_ptr<WorkerGeneration> generation_;
  uint64_t generation_id_ = 0;
  std::vector<std::unique_ptr<Listener>> listeners_;
  // The sessions waiting for their next request (declared before
  // sessions_, which count themselves out of it as they go).
  http::IdleWaits idle_waits_;
  struct SessionEntry {
    std::unique_ptr<net::Session> session;
    // Its listener's counts, in its own generation (which it keeps alive).
    metrics::ListenerCounters* counters = nullptr;
  };
  std::unordered_map<net::Session*, SessionEntry> sessions_;
  // Idle connections without a session; they count as open connections
  // (active_, the limit, connections_active) like sessions do.
  std::unique_ptr<ParkedConnections> parked_;
  std::unique_ptr<ParkedConnection> pending_park_;
  std::chrono::milliseconds pending_idle_timeout_{0};
  bool draining_ = false;
  bool drain_announced_ = false;  // new sessions close after a response
  bool drained_reported_ = false;
  bool limit_paused_ = false;  // listeners disabled by the connection limit
};

}  // namespace fulcrum::app
