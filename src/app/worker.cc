#include "app/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "app/counter_carry.h"
#include "core/errno_text.h"
#include "core/local_errors.h"
#include "core/log.h"
#include "core/rate_limited_log.h"

namespace fulcrum::app {

Worker::Worker(unsigned id, std::shared_ptr<const Runtime> runtime,
               std::vector<net::ListenSocket> sockets, DrainEvents drain_events,
               ReportAttempt report, net::ConnectionLimit* limit)
    : id_(id),
      sockets_(std::move(sockets)),
      drain_events_(std::move(drain_events)),
      report_(std::move(report)),
      limit_(limit),
      loop_(std::make_unique<net::EventLoop>()) {
  generation_ = buildGeneration(std::move(runtime));
  applied_generation_.store(generation_->runtime->generation(), std::memory_order_relaxed);
  if (limit_ != nullptr) limit_->join(*this);
}

std::shared_ptr<Worker::Generation> Worker::buildGeneration(
    std::shared_ptr<const Runtime> runtime) {
  auto generation = std::make_shared<Generation>();
  generation->runtime = std::move(runtime);
  const Runtime* identity = generation->runtime.get();
  const auto& upstreams = generation->runtime->upstreams();
  metrics::WorkerMetrics& counters = generation->metrics;
  counters = countersShapedFor(*generation->runtime);
  for (size_t index = 0; index < upstreams.size(); ++index) {
    const upstream::Upstream& upstream = upstreams[index];
    const bool outliers = generation->runtime->config().upstreams[index].outlier.enabled;
    health::OutlierReporter::Forward forward;
    if (outliers && report_)
      forward = [report = report_, identity, index](uint32_t server,
                                                    const health::Attempt& attempt) {
        report(identity, index, server, attempt);
      };
    auto reporter =
        std::make_unique<health::OutlierReporter>(upstream.servers.size(), std::move(forward));
    auto picker = std::make_unique<upstream::UpstreamPicker>(upstream, random_);
    auto pool = std::make_unique<upstream::ConnPool>(
        *loop_, upstream.servers.size(), upstream.keepalive_max_idle,
        upstream.keepalive_idle_timeout, upstream.breaker.get());
    auto waiters = std::make_shared<upstream::ConnectionWaitQueue>();
    waiters->attach(*loop_, upstream.breaker.get());
    auto budget = std::make_unique<http::RetryBudget>(upstream.retries.budget_percent,
                                                      upstream.retries.budget_min_per_second);
    generation->http_upstreams.push_back(
        http::UpstreamState{picker.get(), pool.get(), reporter.get(), waiters.get(),
                            &counters.upstreams[index], budget.get()});
    generation->retry_budgets.push_back(std::move(budget));
    generation->pickers.push_back(std::move(picker));
    generation->pools.push_back(std::move(pool));
    generation->reporters.push_back(std::move(reporter));
    generation->wait_queues.push_back(std::move(waiters));
  }
  return generation;
}

metrics::WorkerMetrics Worker::copyCounters(const Generation& generation) {
  metrics::WorkerMetrics copy = generation.metrics;
  for (size_t u = 0; u < copy.upstreams.size(); ++u) {
    upstream::UpstreamPicker& picker = *generation.pickers[u];
    copy.upstreams[u].picks_without_key += picker.picksWithoutKey();
    for (size_t s = 0; s < copy.upstreams[u].servers.size(); ++s)
      copy.upstreams[u].servers[s].active = picker.load().active(static_cast<uint32_t>(s));
  }
  return copy;
}

void Worker::carryCounters(Generation& before, Generation& after,
                           const std::vector<ListenerPlan>& plan) {
  // Totals go on across a reload: Prometheus counters do not reset.
  std::vector<int> listener_from;
  for (const ListenerPlan& entry : plan) listener_from.push_back(entry.previous);
  metrics::WorkerMetrics& now = after.metrics;
  app::carryCounters(*before.runtime, copyCounters(before), *after.runtime, listener_from, now);
  // In-flight counts are not carried: they are recounted below from the
  // connections and requests that really are open.
  for (auto& listener : now.listeners) listener.connections_active = 0;
  for (auto& upstream : now.upstreams)
    for (auto& server : upstream.servers) server.active = 0;
  // Open connections of kept listeners count (and end) in the new
  // generation; those of removed listeners are no longer counted (the
  // generation that counted them may go before they end).
  for (auto& entry : sessions_) {
    metrics::ListenerCounters*& counters = entry.second.counters;
    if (counters == nullptr) continue;
    metrics::ListenerCounters* moved_to = nullptr;
    for (size_t i = 0; i < plan.size(); ++i)
      if (plan[i].previous >= 0 &&
          counters == &before.metrics.listeners[static_cast<size_t>(plan[i].previous)])
        moved_to = &now.listeners[i];
    counters = moved_to;
    if (moved_to != nullptr) ++moved_to->connections_active;
  }
}

void Worker::applyGeneration(std::shared_ptr<const Runtime> runtime,
                             std::vector<ListenerPlan> listeners,
                             std::vector<UpstreamHosts> hosts) {
  // The plan's sockets move into the task (a shared_ptr keeps it copyable).
  auto plan = std::make_shared<std::vector<ListenerPlan>>(std::move(listeners));
  loop_->post([this, runtime = std::move(runtime), plan, hosts = std::move(hosts)] {
    if (draining_) return;  // listeners are closed; nothing new starts
    std::shared_ptr<Generation> next = buildGeneration(runtime);
    for (size_t u = 0; u < hosts.size() && u < next->pickers.size(); ++u)
      next->pickers[u]->rebuild(hosts[u].primaries, hosts[u].backups);
    // Idle kept-alive connections to servers that did not change move over.
    const Runtime& before = *generation_->runtime;
    for (size_t u = 0; u < runtime->upstreams().size(); ++u) {
      const upstream::Upstream& now = runtime->upstreams()[u];
      for (size_t o = 0; o < before.upstreams().size(); ++o) {
        const upstream::Upstream& old = before.upstreams()[o];
        if (old.name != now.name || old.breaker != now.breaker) continue;
        for (const upstream::Server& server : now.servers)
          for (const upstream::Server& previous : old.servers)
            if (sameServer(before, o, previous.index, *runtime, u, server.index))
              next->pools[u]->adopt(*generation_->pools[o], previous.index, server.index);
      }
    }
    std::vector<std::unique_ptr<Listener>> kept(plan->size());
    for (size_t i = 0; i < plan->size(); ++i) {
      ListenerPlan& entry = (*plan)[i];
      if (entry.previous >= 0 && static_cast<size_t>(entry.previous) < listeners_.size() &&
          listeners_[entry.previous]) {
        kept[i] = std::move(listeners_[entry.previous]);
        kept[i]->index = i;
      } else if (entry.socket.fd() >= 0) {
        kept[i] = makeListener(i, entry.socket.release());
      }
    }
    // Listeners the new configuration dropped stop accepting; their
    // connections finish on the old generation.
    for (auto& gone : listeners_)
      if (gone && gone->handle != nullptr) evconnlistener_free(gone->handle);
    listeners_.clear();
    for (auto& listener : kept)
      if (listener) listeners_.push_back(std::move(listener));
    carryCounters(*generation_, *next, *plan);
    generation_ = std::move(next);
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

void Worker::drain() {
  loop_->post([this] {
    draining_ = true;
    closeListeners();
    for (auto& entry : sessions_) entry.second.session->drain();
    drain_events_.listeners_closed(sessions_.size());
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
                           upstream::HostSet primaries, upstream::HostSet backups,
                           uint64_t update) {
  loop_->post([this, runtime, upstream_index, primaries = std::move(primaries),
               backups = std::move(backups), update] {
    if (generation_->runtime != runtime) return;
    generation_->pickers[upstream_index]->rebuild(primaries, backups);
    host_set_updates_.fetch_add(1, std::memory_order_relaxed);
    log::debug("worker %u: upstream %s: update %llu applied: %zu primary, %zu backup usable", id_,
               runtime->upstreams()[upstream_index].name.c_str(),
               static_cast<unsigned long long>(update), primaries.hosts.size(),
               backups.hosts.size());
  });
}

void Worker::snapshotMetrics(std::function<void(MetricsSnapshot)> deliver) {
  loop_->post([this, deliver = std::move(deliver)] {
    deliver(MetricsSnapshot{generation_->runtime, copyCounters(*generation_)});
  });
}

void Worker::run() {
  openListeners();
  loop_->run();
  // Connections still open when the loop is told to stop are closed here,
  // on the thread that owns them.
  for (auto& entry : sessions_) entry.second.session->abandon();
  if (limit_ != nullptr) limit_->remove(sessions_.size());
  sessions_.clear();
  active_.store(0, std::memory_order_relaxed);
  closeListeners();
  // Pooled connections belong to this loop: close them on its thread.
  generation_->pools.clear();
  generation_->wait_queues.clear();
}

std::unique_ptr<Worker::Listener> Worker::makeListener(size_t index, int fd) {
  auto listener = std::make_unique<Listener>();
  listener->worker = this;
  listener->index = index;
  listener->handle = evconnlistener_new(loop_->base(), &Worker::onAccept, listener.get(),
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  evconnlistener_set_error_cb(listener->handle, &Worker::onAcceptError);
  if (limit_paused_) evconnlistener_disable(listener->handle);
  Listener* raw = listener.get();
  listener->resume_timer = std::make_unique<net::Timer>(*loop_, [raw] {
    if (raw->handle != nullptr && !raw->worker->limit_paused_) evconnlistener_enable(raw->handle);
  });
  return listener;
}

void Worker::openListeners() {
  for (size_t i = 0; i < sockets_.size(); ++i)
    listeners_.push_back(makeListener(i, sockets_[i].release()));
  sockets_.clear();
}

void Worker::closeListeners() {
  for (auto& listener : listeners_) {
    if (listener->handle != nullptr) evconnlistener_free(listener->handle);
    listener->handle = nullptr;
  }
  listeners_.clear();
}

void Worker::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                      void* arg) {
  auto* listener = static_cast<Listener*>(arg);
  Worker* self = listener->worker;
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  // Plain sockets; a TLS listener will give its own transport here.
  auto session = self->makeSession(*listener, net::Stream::overSocket(*self->loop_, fd),
                                   SocketAddress(address, static_cast<socklen_t>(length)));
  net::Session* raw = session.get();
  metrics::ListenerCounters& counts = self->generation_->metrics.listeners[listener->index];
  self->sessions_.emplace(raw, SessionEntry{std::move(session), &counts});
  ++counts.connections_total;
  ++counts.connections_active;
  self->active_.store(self->sessions_.size(), std::memory_order_relaxed);
  // Counted before start(), which may end the session at once.
  bool full = false;
  if (net::ConnectionLimit* limit = self->limit_) {
    if (listener->waiting > 0) {
      --listener->waiting;
      limit->addLimited(self->generation_->runtime->listeners()[listener->index].name, 1);
    }
    full = limit->add();
  }
  raw->start();
  // Before the next accept() of this burst: libevent checks after each one.
  if (full) self->pauseAccepting();
}

std::unique_ptr<net::Session> Worker::makeSession(const Listener& listener,
                                                  std::unique_ptr<net::Stream> connection,
                                                  const SocketAddress& client) {
  const Generation& generation = *generation_;
  const Runtime& runtime = *generation.runtime;
  const ListenerRuntime& spec = runtime.listeners()[listener.index];
  auto done = [this](net::Session& session) { sessionDone(session); };
  if (spec.protocol == config::Protocol::Http) {
    http::HttpSessionParams params;
    params.loop = loop_.get();
    params.source = this;
    params.random = &random_;
    fillHttpParams(params, listener.index);
    return std::make_unique<http::HttpSession>(std::move(params), std::move(connection), client,
                                               done);
  }
  size_t upstream_index = static_cast<size_t>(spec.upstream - runtime.upstreams().data());
  l4::TcpSessionParams params;
  params.loop = loop_.get();
  params.generation = generation_;
  params.listener_name = &spec.name;
  params.picker = generation.pickers[upstream_index].get();
  params.reporter = generation.reporters[upstream_index].get();
  params.metrics = &generation_->metrics.upstreams[upstream_index];
  params.idle_timeout = spec.idle_timeout;
  params.access_log = runtime.accessLog();
  return std::make_unique<l4::TcpSession>(std::move(params), std::move(connection), client, done);
}

void Worker::fillHttpParams(http::HttpSessionParams& params, size_t listener_index) {
  const Runtime& runtime = *generation_->runtime;
  params.generation_id = generation_id_;
  params.generation = generation_;
  params.built_upstreams = &runtime.upstreams();
  params.listener = &runtime.listeners()[listener_index];
  params.upstreams = &generation_->http_upstreams;
  params.listener_metrics = &generation_->metrics.listeners[listener_index];
  params.access_log = runtime.accessLog();
}

bool Worker::refresh(http::HttpSessionParams& params) {
  const auto& listeners = generation_->runtime->listeners();
  for (size_t i = 0; i < listeners.size(); ++i) {
    if (listeners[i].name != params.listener->name) continue;
    fillHttpParams(params, i);
    return true;
  }
  return false;
}

void Worker::onAcceptError(evconnlistener* handle, void* arg) {
  auto* listener = static_cast<Listener*>(arg);
  int error = EVUTIL_SOCKET_ERROR();
  countLocalError(LocalSite::Accept, error);
  const auto& spec = listener->worker->generation_->runtime->listeners()[listener->index];
  static log::Limited limited;
  limited.error("listener %s: accept failed: %s; pausing accepts for 100ms", spec.name.c_str(),
                errnoText(error).c_str());
  // Out of file descriptors would otherwise spin the loop on the same error.
  evconnlistener_disable(handle);
  listener->resume_timer->arm(std::chrono::milliseconds(100));
}

void Worker::sessionDone(net::Session& session) {
  auto found = sessions_.find(&session);
  if (found == sessions_.end()) return;
  if (found->second.counters != nullptr) --found->second.counters->connections_active;
  loop_->deferDelete(std::move(found->second.session));
  sessions_.erase(found);
  active_.store(sessions_.size(), std::memory_order_relaxed);
  if (limit_ != nullptr) limit_->remove();
  maybeDrained();
}

void Worker::maybeDrained() {
  if (!draining_ || drained_reported_ || !sessions_.empty()) return;
  drained_reported_ = true;
  log::debug("worker %u drained", id_);
  drain_events_.drained();
}

}  // namespace fulcrum::app
