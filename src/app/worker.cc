#include "app/worker.h"

#include <unistd.h>

#include "core/errno_text.h"
#include "core/local_errors.h"
#include "core/log.h"
#include "core/rate_limited_log.h"
#include "l4/tcp_session.h"
#include "net/socket_transport.h"
#include "tls/tls_transport.h"

namespace fulcrum::app {

Worker::Worker(unsigned id, std::shared_ptr<const Runtime> runtime, WorkerSockets sockets,
               DrainEvents drain_events, ReportAttempt report, net::ConnectionLimit* limit)
    : id_(id),
      sockets_(std::move(sockets)),
      drain_events_(std::move(drain_events)),
      report_(std::move(report)),
      limit_(limit),
      loop_(std::make_unique<net::EventLoop>()) {
  parked_ = std::make_unique<ParkedConnections>(
      *loop_,
      [this](std::unique_ptr<ParkedConnection> connection) { resume(std::move(connection)); },
      [this](ParkedConnection& connection) { parkedExpired(connection); });
  generation_ = WorkerGeneration::build(std::move(runtime), *loop_, random_, report_);
  applied_generation_.store(generation_->runtime->generation(), std::memory_order_relaxed);
  if (limit_ != nullptr) limit_->join(*this);
}

void Worker::moveConnectionCounts(const WorkerGeneration& before, WorkerGeneration& after,
                                  const std::vector<ListenerPlan>& plan) {
  // Open connections of kept listeners count (and end) in the new
  // generation; those of removed listeners are no longer counted (the
  // generation that counted them may go before they end).
  auto move = [&](metrics::ListenerCounters*& counters) {
    if (counters == nullptr) return;
    metrics::ListenerCounters* moved_to = nullptr;
    for (size_t i = 0; i < plan.size(); ++i)
      if (plan[i].previous >= 0 &&
          counters == &before.metrics.listeners[static_cast<size_t>(plan[i].previous)])
        moved_to = &after.metrics.listeners[i];
    counters = moved_to;
    if (moved_to != nullptr) ++moved_to->connections_active;
  };
  for (auto& entry : sessions_) move(entry.second.counters);
  parked_->forEach([&](ParkedConnection& connection) { move(connection.counters); });
}

void Worker::applyGeneration(std::shared_ptr<const Runtime> runtime,
                             std::vector<ListenerPlan> listeners,
                             std::vector<upstream::HostSets> hosts) {
  // The plan's sockets move into the task (a shared_ptr keeps it copyable).
  auto plan = std::make_shared<std::vector<ListenerPlan>>(std::move(listeners));
  loop_->post([this, runtime = std::move(runtime), plan, hosts = std::move(hosts)] {
    if (draining_) return;  // listeners are closed; nothing new starts
    std::shared_ptr<WorkerGeneration> next =
        WorkerGeneration::build(runtime, *loop_, random_, report_);
    for (size_t u = 0; u < hosts.size() && u < next->upstreams.size(); ++u)
      next->upstreams[u].picker->rebuild(hosts[u]);
    next->adoptIdleConnections(*generation_);
    std::vector<std::unique_ptr<Listener>> kept(plan->size());
    for (size_t i = 0; i < plan->size(); ++i) {
      ListenerPlan& entry = (*plan)[i];
      if (entry.previous >= 0 && static_cast<size_t>(entry.previous) < listeners_.size() &&
          listeners_[entry.previous]) {
        kept[i] = std::move(listeners_[entry.previous]);
        kept[i]->index = i;
      } else if (entry.socket.fd() >= 0) {
        kept[i] = makeListener(i, {entry.socket.release()});
      }
    }
    // Listeners the new configuration dropped stop accepting; their
    // connections finish on the old generation.
    listeners_.clear();
    for (auto& listener : kept)
      if (listener) listeners_.push_back(std::move(listener));
    std::vector<int> listener_from;
    for (const ListenerPlan& entry : *plan) listener_from.push_back(entry.previous);
    next->carryTotals(*generation_, listener_from);
    moveConnectionCounts(*generation_, *next, *plan);
    generation_ = std::move(next);
    deferAccepts();  // kept listeners follow the new configuration too
    ++generation_id_;
    applied_generation_.store(generation_->runtime->generation(), std::memory_order_relaxed);
    log::debug("worker %u: configuration generation applied", id_);
  });
}

Worker::~Worker() {
  if (limit_ != nullptr) limit_->leave(*this);
  join();
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::announceDrain() {
  loop_->post([this] {
    drain_announced_ = true;
    for (auto& entry : sessions_) entry.second.session->closeAfterResponse();
  });
}

void Worker::drain() {
  loop_->post([this] {
    draining_ = true;
    // The sockets close (never shut down: a process taking over keeps
    // their queues); TLS handshakes under way go on and are served, like
    // the connections accepted before.
    size_t handshakes = 0;
    for (auto& listener : listeners_) {
      listener->acceptors.clear();
      handshakes += listener->handshaking.size();
    }
    // Parked connections close as idle sessions do: sessions again first.
    for (auto& connection : parked_->takeAll()) resume(std::move(connection));
    for (auto& entry : sessions_) entry.second.session->drain();
    drain_events_.listeners_closed(sessions_.size() + handshakes);
    maybeDrained();
  });
}

void Worker::stop() {
  loop_->post([this] { loop_->stop(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::applyHostSets(const std::shared_ptr<const Runtime>& runtime, size_t upstream_index,
                           upstream::HostSets hosts, uint64_t update) {
  loop_->post([this, runtime, upstream_index, hosts = std::move(hosts), update] {
    if (generation_->runtime != runtime) return;
    generation_->upstreams[upstream_index].picker->rebuild(hosts);
    host_set_updates_.fetch_add(1, std::memory_order_relaxed);
    log::debug(
        "worker %u: upstream %s: update %llu applied: %zu primary, %zu backup usable, %zu standby",
        id_, runtime->upstreams()[upstream_index].name.c_str(),
        static_cast<unsigned long long>(update), hosts.primaries.hosts.size(),
        hosts.backups.hosts.size(), hosts.standby.size());
  });
}

void Worker::snapshotMetrics(std::function<void(MetricsSnapshot)> deliver) {
  loop_->post([this, deliver = std::move(deliver)] {
    deliver(MetricsSnapshot{generation_->runtime, generation_->counters()});
  });
}

void Worker::run() {
  openListeners();
  loop_->run();
  // Connections still open when the loop is told to stop are closed here,
  // on the thread that owns them.
  for (auto& entry : sessions_) entry.second.session->abandon();
  const size_t parked = parked_->closeAll();
  if (limit_ != nullptr) limit_->remove(sessions_.size() + parked);
  sessions_.clear();
  active_.store(0, std::memory_order_relaxed);
  closeListeners();
  // Pooled connections belong to this loop: close them on its thread.
  generation_->closeConnections();
}

std::unique_ptr<Worker::Listener> Worker::makeListener(size_t index, const std::vector<int>& fds) {
  auto listener = std::make_unique<Listener>();
  listener->index = index;
  Listener* raw = listener.get();
  for (int fd : fds) {
    listener->acceptors.push_back(std::make_unique<net::Acceptor>(
        *loop_, fd,
        [this, raw](std::unique_ptr<net::Stream> connection, const SocketAddress& client) {
          accepted(*raw, std::move(connection), client);
        },
        [this, raw](int error) { acceptFailed(*raw, error); },
        // Looked up at each accept, so a reload that kept the listener
        // hands new connections the certificates it just read.
        [this, raw](int fd) -> std::unique_ptr<net::Transport> {
          const ListenerRuntime& spec = generation_->runtime->listeners()[raw->index];
          if (!spec.tls) return net::socketTransport(fd);
          return tls::TlsTransport::create(fd, spec.tls->initial(),
                                           tls::TlsTransport::Side::Server);
        }));
    if (limit_paused_) listener->acceptors.back()->pause();
  }
  return listener;
}

void Worker::openListeners() {
  for (size_t i = 0; i < sockets_.size(); ++i) {
    std::vector<int> fds;
    for (auto& socket : sockets_[i]) fds.push_back(socket.release());
    listeners_.push_back(makeListener(i, fds));
  }
  sockets_.clear();
}

void Worker::deferAccepts() {
  for (auto& listener : listeners_) {
    const ListenerRuntime& spec = generation_->runtime->listeners()[listener->index];
    for (auto& acceptor : listener->acceptors) applyDeferAccept(spec, acceptor->fd());
  }
}

void Worker::closeListeners() {
  listeners_.clear();
}

void Worker::accepted(Listener& listener, std::unique_ptr<net::Stream> connection,
                      const SocketAddress& client) {
  if (generation_->runtime->listeners()[listener.index].tls)
    startHandshake(listener, std::move(connection), client);
  else
    startSession(listener, std::move(connection), client);
}

void Worker::startSession(Listener& listener, std::unique_ptr<net::Stream> connection,
                          const SocketAddress& client) {
  auto session = makeSession(listener, std::move(connection), client);
  net::Session* raw = session.get();
  metrics::ListenerCounters& counts = generation_->metrics.listeners[listener.index];
  sessions_.emplace(raw, SessionEntry{std::move(session), &counts});
  ++counts.connections_total;
  ++counts.connections_active;
  countActive();
  // Counted before start(), which may end the session at once.
  bool full = false;
  if (limit_ != nullptr) {
    if (listener.waiting > 0) {
      --listener.waiting;
      limit_->addLimited(generation_->runtime->listeners()[listener.index].name, 1);
    }
    full = limit_->add();
  }
  if (drain_announced_) raw->closeAfterResponse();
  raw->start();
  // A handshake that ended during the drain: its first request is answered
  // with Connection: close.
  if (draining_ && sessions_.count(raw) != 0) raw->drain();
  // Before the next accept() of this burst: libevent checks after each one.
  if (full) pauseAccepting();
}

std::unique_ptr<net::Session> Worker::makeSession(const Listener& listener,
                                                  std::unique_ptr<net::Stream> connection,
                                                  const SocketAddress& peer) {
  const ListenerRuntime& spec = generation_->runtime->listeners()[listener.index];
  net::ClientAddresses addresses{peer, peer, {}};
  if (spec.sends_proxy_header) addresses.local = net::localAddressOf(connection->fd());
  auto done = [this](net::Session& session) { sessionDone(session); };
  if (spec.proxy_protocol == config::ProxyAccept::Off)
    return makeListenerSession(generation_, generation_id_, listener.index, std::move(connection),
                               addresses, done);
  net::ProxyHeaderSession::Params params;
  params.loop = loop_.get();
  params.trusted = &spec.trusted_proxies;
  params.listener_name = &spec.name;
  params.required = spec.proxy_protocol == config::ProxyAccept::Required;
  params.timeout = spec.proxy_header_timeout;
  // The generation is held until the header is read: the listener's
  // session starts on the generation its connection was accepted on.
  auto make = [this, generation = generation_, id = generation_id_, index = listener.index](
                  std::unique_ptr<net::Stream> stream, const net::ClientAddresses& client,
                  std::function<void(net::Session&)> inner_done) {
    return makeListenerSession(generation, id, index, std::move(stream), client,
                               std::move(inner_done));
  };
  return std::make_unique<net::ProxyHeaderSession>(
      params, std::move(connection), addresses, std::move(make),
      [this](net::Session& session, net::ProxyRejection reason) {
        countProxyRejection(session, reason);
      },
      done);
}

std::unique_ptr<net::Session> Worker::makeListenerSession(
    const std::shared_ptr<WorkerGeneration>& generation, uint64_t generation_id,
    size_t listener_index, std::unique_ptr<net::Stream> connection,
    const net::ClientAddresses& addresses, std::function<void(net::Session&)> done, bool resumed) {
  const Runtime& runtime = *generation->runtime;
  const ListenerRuntime& spec = runtime.listeners()[listener_index];
  if (spec.protocol == config::Protocol::Http) {
    http::HttpSessionParams params;
    params.loop = loop_.get();
    params.source = this;
    params.random = &random_;
    // TLS connections keep their sessions (the TLS state is the costly part).
    if (!spec.tls) {
      params.parking = this;
      params.idle_waits = &idle_waits_;
    }
    params.resumed = resumed;
    fillHttpParams(params, generation, generation_id, listener_index);
    return std::make_unique<http::HttpSession>(std::move(params), std::move(connection), addresses,
                                               std::move(done));
  }
  size_t upstream_index = static_cast<size_t>(spec.upstream - runtime.upstreams().data());
  l4::TcpSessionParams params;
  params.loop = loop_.get();
  params.generation = generation;
  params.listener_name = &spec.name;
  params.picker = generation->upstreams[upstream_index].picker.get();
  params.reporter = generation->upstreams[upstream_index].reporter.get();
  params.metrics = &generation->metrics.upstreams[upstream_index];
  params.idle_timeout = spec.idle_timeout;
  params.access_log = runtime.accessLog();
  return std::make_unique<l4::TcpSession>(std::move(params), std::move(connection), addresses,
                                          std::move(done));
}

void Worker::fillHttpParams(http::HttpSessionParams& params,
                            const std::shared_ptr<WorkerGeneration>& generation,
                            uint64_t generation_id, size_t listener_index) {
  const Runtime& runtime = *generation->runtime;
  params.generation_id = generation_id;
  params.generation = generation;
  params.built_upstreams = &runtime.upstreams();
  params.listener = &runtime.listeners()[listener_index];
  params.listener_index = static_cast<uint32_t>(listener_index);
  params.upstreams = &generation->http_upstreams;
  params.listener_metrics = &generation->metrics.listeners[listener_index];
  params.access_log = runtime.accessLog();
  params.ledger_store =
      generation->redis ? generation->redis.get() : runtime.idempotencyStore().get();
  params.ledger_timings = &generation->metrics.ledger_store;
}

void Worker::countProxyRejection(net::Session& session, net::ProxyRejection reason) {
  static_assert(net::kProxyRejections == metrics::kProxyRejectionReasons);
  auto found = sessions_.find(&session);
  if (found != sessions_.end() && found->second.counters != nullptr)
    ++found->second.counters->proxy_rejected[static_cast<size_t>(reason)];
}

bool Worker::refresh(http::HttpSessionParams& params) {
  const auto& listeners = generation_->runtime->listeners();
  for (size_t i = 0; i < listeners.size(); ++i) {
    if (listeners[i].name != params.listener->name) continue;
    fillHttpParams(params, generation_, generation_id_, i);
    return true;
  }
  return false;
}

void Worker::countActive() {
  active_.store(sessions_.size() + parked_->size(), std::memory_order_relaxed);
}

void Worker::acceptFailed(const Listener& listener, int error) {
  countLocalError(LocalSite::Accept, error);
  const auto& spec = generation_->runtime->listeners()[listener.index];
  static log::Limited limited;
  limited.error("listener %s: accept failed: %s; pausing accepts for %lldms", spec.name.c_str(),
                errnoText(error).c_str(),
                static_cast<long long>(net::Acceptor::kErrorPause.count()));
}

void Worker::sessionDone(net::Session& session) {
  auto found = sessions_.find(&session);
  std::unique_ptr<ParkedConnection> parked = std::move(pending_park_);
  if (found == sessions_.end()) {
    if (parked) ::close(parked->fd);  // never the case: sessions park from inside sessions_
    return;
  }
  const bool parking = parked != nullptr;
  if (parking) {
    // The connection lives on, parked: still open, still counted.
    parked->counters = found->second.counters;
    parked_->add(std::move(parked), pending_idle_timeout_);
    log::debug("worker %u: idle connection parked (%zu parked, %zu waiting)", id_, parked_->size(),
               idle_waits_.waiting());
  } else if (found->second.counters != nullptr) {
    --found->second.counters->connections_active;
  }
  loop_->deferDelete(std::move(found->second.session));
  sessions_.erase(found);
  countActive();
  if (limit_ != nullptr && !parking) limit_->remove();
  maybeDrained();
}

void Worker::maybeDrained() {
  if (!draining_ || drained_reported_ || !sessions_.empty() || parked_->size() != 0) return;
  for (const auto& listener : listeners_)
    if (!listener->handshaking.empty()) return;
  drained_reported_ = true;
  log::debug("worker %u drained", id_);
  drain_events_.drained();
}

}  // namespace fulcrum::app
