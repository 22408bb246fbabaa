#include "app/process.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

#include "core/log.h"
#include "core/time_text.h"

namespace fulcrum::app {
namespace {

unsigned resolveWorkerCount(unsigned configured) {
  if (configured != 0) return configured;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

const char* protocolName(config::Protocol protocol) {
  switch (protocol) {
    case config::Protocol::Tcp:
      return "tcp";
    case config::Protocol::Http:
      return "http";
  }
  return "?";
}

}  // namespace

Process::Process(std::shared_ptr<const Runtime> runtime, std::string config_path,
                 std::string takeover_from)
    : runtime_(std::move(runtime)),
      config_path_(std::move(config_path)),
      takeover_from_(std::move(takeover_from)),
      worker_count_(resolveWorkerCount(runtime_->config().global.workers)),
      grace_timer_(loop_, [this] { stopAccepting(); }),
      drain_timer_(loop_, [this] {
        size_t open = 0;
        for (const auto& worker : workers_) open += worker->activeConnections();
        log::warn("drain timeout reached: closing %zu open connection(s)", open);
        stopAll();
      }) {}

Process::~Process() {
  for (event* ev : signal_events_) event_free(ev);
}

int Process::run() {
  std::vector<WorkerSockets> per_worker(worker_count_);
  // Signals first: a supervisor may signal as soon as it sees us listening.
  installSignals();
  startLimits();
  if (!takeover_from_.empty() && !receiveSockets()) return kExitStartup;
  if (!bindAll(per_worker)) return kExitStartup;
  monitor_ = makeMonitor(*runtime_);
  discovery_ = std::make_unique<discovery::Discovery>(loop_, [this] { return applyDiscovery(); });
  if (!startAdmin()) return kExitStartup;
  closeUnclaimed();
  startWorkers(std::move(per_worker));
  monitor_->start();
  discovery_->configure(runtime_->config());
  log::info("fulcrum started: %u worker(s)", worker_count_);
  // Bound before the old process hears from us, so it finds the path
  // taken by our socket and leaves it when it exits.
  startTakeoverServer();
  if (takeover_client_) confirmTakeover();
  loop_.run();
  discovery_.reset();
  for (auto& worker : workers_) worker->join();
  admin_server_.reset();
  admin_backend_.reset();
  monitor_.reset();
  log::info("fulcrum stopped");
  return kExitOk;
}

bool Process::bindAll(std::vector<WorkerSockets>& per_worker) {
  const auto& listeners = runtime_->listeners();
  for (auto& sockets : per_worker) sockets.resize(listeners.size());
  for (size_t i = 0; i < listeners.size(); ++i) {
    const ListenerRuntime& listener = listeners[i];
    std::vector<net::ListenSocket> sockets;
    SocketAddress bound;
    std::string why;
    if (!listenerSockets(listener, sockets, bound, why)) {
      log::error("listener %s: cannot listen: %s", listener.name.c_str(), why.c_str());
      return false;
    }
    held_sockets_.emplace_back();
    for (size_t s = 0; s < sockets.size(); ++s) {
      held_sockets_.back().push_back(sockets[s].duplicate());
      per_worker[s % worker_count_][i].push_back(std::move(sockets[s]));
    }
    // Tests and scripts read the bound address (port 0 -> real port) here.
    std::string target = listener.protocol == config::Protocol::Tcp
                             ? "upstream " + listener.upstream->name
                             : std::to_string(listener.routes.size()) + " route(s)";
    listener_addresses_.push_back(bound.toString());
    log::info("listener %s (%s) listening on %s -> %s", listener.name.c_str(),
              protocolName(listener.protocol), bound.toString().c_str(), target.c_str());
  }
  return true;
}

bool Process::startAdmin() {
  ProxyState state{runtime_, &workers_, monitor_.get(), &draining_, &reloads_, listener_addresses_};
  state.connection_limit = connection_limit_.get();
  state.admin_refusals = &admin_refusals_;
  state.discovery = discovery_.get();
  admin_backend_ = std::make_unique<ProxyAdmin>(loop_, std::move(state));
  const config::AdminConfig& admin = runtime_->config().global.admin;
  admin_server_ = std::make_unique<admin::AdminServer>(loop_, *admin_backend_, admin_refusals_,
                                                       admin.max_connections);
  std::string why;
  const int handed = takeAdminSocket(admin);
  if (handed >= 0 ? !admin_server_->listenOn(handed, accessPolicy(admin), why)
                  : !admin_server_->listen(admin.listen, accessPolicy(admin), why)) {
    log::error("admin listener %s: cannot listen: %s", admin.listen_text.c_str(), why.c_str());
    return false;
  }
  // Tests and scripts read the bound address (port 0 -> real port) here.
  log::info("admin listener listening on %s (/metrics /healthz /status /api)",
            admin_server_->bound().toString().c_str());
  if (admin.token.empty()) log::info("admin: /api is disabled: global.admin.token is not set");
  return true;
}

void Process::startWorkers(std::vector<WorkerSockets> per_worker) {
  // Workers inherit this mask: signals are taken by the control loop only.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  for (unsigned w = 0; w < worker_count_; ++w) {
    DrainEvents events;
    events.listeners_closed = [this](size_t open) {
      loop_.post([this, open] { onWorkerListenersClosed(open); });
    };
    events.drained = [this] { loop_.post([this] { onWorkerDrained(); }); };
    // Outlier reports hop to the control loop, where the monitor lives.
    ReportAttempt report = [this](const Runtime* runtime, size_t upstream_index, uint32_t server,
                                  const upstream::Attempt& attempt) {
      loop_.post([this, runtime, upstream_index, server, attempt] {
        // Reports from connections of an older generation are dropped: its
        // indexes mean other servers now.
        if (monitor_ && runtime == runtime_.get())
          monitor_->report(upstream_index, server, attempt);
      });
    };
    auto worker = std::make_unique<Worker>(w, runtime_, std::move(per_worker[w]), std::move(events),
                                           std::move(report), connection_limit_.get());
    worker->start();
    workers_.push_back(std::move(worker));
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void Process::installSignals() {
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    event* ev = evsignal_new(loop_.base(), signal, &Process::onSignal, this);
    evsignal_add(ev, nullptr);
    signal_events_.push_back(ev);
  }
}

void Process::onSignal(evutil_socket_t signal, short, void* arg) {
  auto* self = static_cast<Process*>(arg);
  if (signal == SIGHUP) {
    self->reload();
    return;
  }
  if (signal == SIGUSR1) {
    self->reopenLogs();
    return;
  }
  if (self->draining_) {
    log::warn("%s during drain: stopping now", signal == SIGINT ? "SIGINT" : "SIGTERM");
    self->stopAll();
    return;
  }
  log::info("%s: draining", signal == SIGINT ? "SIGINT" : "SIGTERM");
  self->beginDrain();
}

void Process::reopenLogs() {
  AccessLog* access = runtime_->accessLog();
  if (access == nullptr || runtime_->config().global.log.access != config::AccessLogTarget::File) {
    log::info("SIGUSR1: no log file to reopen");
    return;
  }
  std::string why;
  if (access->reopen(why))
    log::info("SIGUSR1: reopened %s", runtime_->config().global.log.access_path.c_str());
  else
    log::error("SIGUSR1: %s; still writing to the file opened before", why.c_str());
}

std::unique_ptr<health::HealthMonitor> Process::makeMonitor(const Runtime& runtime) {
  // Publications reach every worker with the generation running then.
  return std::make_unique<health::HealthMonitor>(
      loop_, runtime.upstreams(), runtime.config().upstreams,
      [this](size_t upstream_index, upstream::HostSets hosts, uint64_t update) {
        for (auto& worker : workers_)
          worker->applyHostSets(runtime_, upstream_index, hosts, update);
      });
}

void Process::beginDrain(bool with_grace) {
  draining_ = true;
  // Later, not inside the server's own callback (handedOver()).
  loop_.post([this] { takeover_server_.reset(); });
  const config::Duration grace =
      with_grace ? runtime_->config().global.drain_grace : config::Duration::zero();
  if (grace <= config::Duration::zero()) {
    stopAccepting();
    return;
  }
  // Whoever watches /healthz (keepalived, a load balancer) needs a moment
  // to move traffic: refusing connects before then would fail requests
  // that the other node could have taken.
  log::info("/healthz answers 503; still accepting for %s (global.drain_grace)",
            formatDuration(grace).c_str());
  for (auto& worker : workers_) worker->announceDrain();
  grace_timer_.arm(grace);
}

void Process::stopAccepting() {
  // Our copies too: with them open the kernel would still queue
  // connections that nobody accepts any more.
  held_sockets_.clear();
  drain_timer_.arm(runtime_->config().global.drain_timeout);
  for (auto& worker : workers_) worker->drain();
}

void Process::onWorkerListenersClosed(size_t open) {
  open_at_drain_ += open;
  if (++closed_workers_ < workers_.size()) return;
  // Logged once every socket is closed: from here on, connects are refused.
  log::info("stopped accepting; waiting up to %s for %zu open connection(s)",
            formatDuration(runtime_->config().global.drain_timeout).c_str(), open_at_drain_);
}

void Process::onWorkerDrained() {
  if (++drained_workers_ < workers_.size()) return;
  log::info("every connection finished");
  stopAll();
}

void Process::stopAll() {
  grace_timer_.cancel();
  drain_timer_.cancel();
  for (auto& worker : workers_) worker->stop();
  loop_.stop();
}

}  // namespace fulcrum::app
