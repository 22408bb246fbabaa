#include "app/proxy_admin.h"

#include "app/counter_carry.h"
#include "config/tls_check.h"
#include "core/time_text.h"
#include "ledger/fingerprint.h"
#include "ledger/redis_store.h"

namespace fulcrum::app {
namespace {

const char* protocolName(config::Protocol protocol) {
  return protocol == config::Protocol::Tcp ? "tcp" : "http";
}

// What the status page shows of each certificate, `now` in Unix seconds.
std::vector<admin::CertificateStatus> certificateStatus(
    const std::vector<tls::CertificateInfo>& certificates, int64_t now) {
  constexpr int64_t kDay = 24 * 60 * 60;
  const int64_t soon = std::chrono::seconds(config::kExpirySoon).count();
  std::vector<admin::CertificateStatus> out;
  for (const tls::CertificateInfo& info : certificates) {
    const int64_t left = info.not_after - now;
    // Whole days, rounded down: 10 hours left is 0 days, 1 hour past is -1.
    const int64_t days = left >= 0 ? left / kDay : -((-left + kDay - 1) / kDay);
    out.push_back(
        {info.file, info.subject, info.names, formatUtcTime(info.not_after), days, left <= soon});
  }
  return out;
}

std::string serverState(const health::UpstreamHealth::ServerView& view) {
  if (view.admin_drain) return "drained";
  if (view.ejected) return "ejected";
  if (!view.check_up) return "down";
  return "up";
}

}  // namespace

admin::AccessPolicy accessPolicy(const config::AdminConfig& admin) {
  return admin::AccessPolicy{admin.token, admin.hosts, admin.protect_status};
}

ProxyAdmin::ProxyAdmin(net::EventLoop& loop, ProxyState state)
    : loop_(loop),
      state_(std::move(state)),
      started_(std::chrono::steady_clock::now()),
      last_(std::make_shared<metrics::WorkerMetrics>()) {}

void ProxyAdmin::gather(std::function<void(const metrics::WorkerMetrics&)> done) {
  struct Pending {
    size_t remaining = 0;
    std::vector<MetricsSnapshot> copies;
    std::function<void(const metrics::WorkerMetrics&)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = state_.workers->size();
  pending->done = std::move(done);
  // Summed only once all are in, in the shape of the generation running
  // then: a reload may come between the asking and the last answer, and
  // each copy has the shape of the generation it was counted under.
  auto sum = [this, pending] {
    const Runtime& target = *state_.runtime;
    metrics::WorkerMetrics merged = countersShapedFor(target);
    for (const MetricsSnapshot& copy : pending->copies) {
      if (copy.runtime.get() == &target)
        merged.merge(copy.counts);
      else
        carryCounters(*copy.runtime, copy.counts, target, matchListeners(*copy.runtime, target),
                      merged);
    }
    pending->done(merged);
  };
  if (pending->remaining == 0) {
    sum();
    return;
  }
  net::EventLoop* control = &loop_;
  for (const auto& worker : *state_.workers) {
    worker->snapshotMetrics([control, pending, sum](MetricsSnapshot copy) {
      control->post([pending, sum, copy = std::move(copy)]() mutable {
        pending->copies.push_back(std::move(copy));
        if (--pending->remaining == 0) sum();
      });
    });
  }
}

void ProxyAdmin::collectMetrics(std::function<void(std::string text)> done) {
  // Scrapes that arrive while one is being gathered share its rendering:
  // many scrapers cost one round trip through the workers, not one each.
  scrape_waiters_.push_back(std::move(done));
  if (scrape_waiters_.size() > 1) return;
  gather([this](const metrics::WorkerMetrics& merged) {
    *last_ = merged;
    const app::Runtime& runtime = *state_.runtime;
    app::GenerationShape shape{runtime.generation(),
                               {},
                               runtime.upstreams(),
                               {},
                               {},
                               {},
                               runtime.idempotencyStore().get()};
    for (const auto& listener : runtime.listeners()) {
      shape.listener_names.push_back(listener.name);
      bool ledger = false;
      for (const auto& route : listener.routes) ledger = ledger || route.idempotency != nullptr;
      shape.has_ledger.push_back(ledger);
      shape.reads_proxy_header.push_back(listener.proxy_protocol != config::ProxyAccept::Off);
      shape.listener_tls.push_back(listener.tls.get());
    }
    const std::string text = app::renderMetrics(
        shape, *state_.monitor, merged, *state_.reloads, workerProgress(), state_.connection_limit,
        state_.admin_refusals, state_.discovery ? &state_.discovery->counts() : nullptr);
    std::vector<std::function<void(std::string)>> waiters = std::move(scrape_waiters_);
    scrape_waiters_.clear();
    for (auto& waiter : waiters) waiter(text);
  });
}

std::vector<app::WorkerProgress> ProxyAdmin::workerProgress() const {
  std::vector<app::WorkerProgress> progress;
  for (const auto& worker : *state_.workers)
    progress.push_back({worker->appliedGeneration(), worker->hostSetUpdates()});
  return progress;
}

admin::Status ProxyAdmin::status() {
  // Active counts come from the last gathering, and asking starts the
  // next one: a page that refreshes itself sees numbers one refresh old.
  if (!refreshing_) {
    refreshing_ = true;
    gather([this](const metrics::WorkerMetrics& merged) {
      *last_ = merged;
      refreshing_ = false;
    });
  }
  const Runtime& runtime = *state_.runtime;
  const auto now = std::chrono::steady_clock::now();
  const int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  admin::Status status;
  status.version = FULCRUM_VERSION;
  status.uptime_seconds = std::chrono::duration<double>(now - started_).count();
  status.draining = *state_.draining;
  status.generation = runtime.generation();
  for (const app::WorkerProgress& worker : workerProgress())
    status.workers.push_back({worker.generation, worker.host_set_updates});
  for (size_t l = 0; l < runtime.listeners().size(); ++l) {
    const ListenerRuntime& listener = runtime.listeners()[l];
    admin::ListenerStatus entry{listener.name,
                                protocolName(listener.protocol),
                                l < state_.listener_addresses.size() ? state_.listener_addresses[l]
                                                                     : listener.address.toString(),
                                0,
                                {}};
    if (listener.tls)
      entry.certificates = certificateStatus(listener.tls->certificates(), unix_now);
    if (l < last_->listeners.size())
      entry.active_connections = last_->listeners[l].connections_active;
    status.listeners.push_back(std::move(entry));
  }
  for (size_t u = 0; u < runtime.upstreams().size(); ++u) {
    const upstream::Upstream& upstream = runtime.upstreams()[u];
    const config::UpstreamConfig& spec = runtime.config().upstreams[u];
    admin::UpstreamStatus entry{
        upstream.name, spec.balance, {}, 0, state_.monitor->upstream(u).panic(), {}, {}};
    if (upstream.tls && upstream.tls->certificate())
      entry.certificates = certificateStatus({*upstream.tls->certificate()}, unix_now);
    for (const config::DiscoveryConfig& written : spec.discovery)
      entry.dns.push_back(written.key());
    for (const upstream::Server& server : upstream.servers) {
      const auto view = state_.monitor->upstream(u).view(server.index);
      admin::ServerStatus row;
      row.name = server.label;
      row.address = spec.servers[server.index].address_text;
      row.dns = spec.servers[server.index].dns_name;
      row.weight = server.weight;
      row.backup = server.backup;
      row.state = serverState(view);
      row.usable = view.usable;
      row.check = view.last_check;
      row.admin_drain = view.admin_drain;
      row.ejected = view.ejected;
      row.ramp_percent = view.ramp_percent;
      if (u < last_->upstreams.size() && server.index < last_->upstreams[u].servers.size())
        row.active_requests = last_->upstreams[u].servers[server.index].active;
      row.last_transition = view.last_transition;
      if (!view.last_transition.empty())
        row.last_transition_seconds_ago =
            std::chrono::duration<double>(now - view.last_transition_at).count();
      entry.usable_servers += view.usable;
      entry.servers.push_back(std::move(row));
    }
    status.upstreams.push_back(std::move(entry));
  }
  return status;
}

void ProxyAdmin::retarget(std::shared_ptr<const Runtime> runtime, health::HealthMonitor* monitor,
                          std::vector<std::string> listener_addresses) {
  state_.runtime = std::move(runtime);
  state_.monitor = monitor;
  state_.listener_addresses = std::move(listener_addresses);
  // The new generation may name another Redis: the next question makes a
  // connection from its settings. The old store is kept until the next
  // reload so a question in flight on it still gets its answer or its
  // timeout (far shorter than any two reloads apart).
  retired_redis_ = std::move(redis_);
  // Counts gathered for the old generation's shape are not this one's.
  *last_ = metrics::WorkerMetrics{};
}

admin::DrainResult ProxyAdmin::setAdminDrain(const std::string& upstream, const std::string& server,
                                             bool drained) {
  const auto& upstreams = state_.runtime->upstreams();
  for (size_t u = 0; u < upstreams.size(); ++u) {
    if (upstreams[u].name != upstream) continue;
    for (const upstream::Server& candidate : upstreams[u].servers) {
      const auto& written = state_.runtime->config().upstreams[u].servers[candidate.index];
      if (candidate.label != server && written.address_text != server) continue;
      state_.monitor->upstream(u).setAdminDrain(candidate.index, drained);
      return admin::DrainResult::Ok;
    }
    return admin::DrainResult::NoServer;
  }
  return admin::DrainResult::NoUpstream;
}

void ProxyAdmin::ledgerKey(const std::string& key, const std::string& scope, bool release,
                           std::function<void(admin::LedgerKey)> done) {
  using Result = admin::LedgerKey::Result;
  const app::Runtime& runtime = *state_.runtime;
  ledger::Store* store = runtime.idempotencyStore().get();
  if (const auto& settings = runtime.redisSettings()) {
    // Workers each have their own connection; the control loop gets its
    // own, made at the first question.
    if (!redis_) redis_ = std::make_unique<ledger::RedisStore>(loop_, *settings);
    store = redis_.get();
  }
  if (store == nullptr) {  // no route has a ledger
    done(admin::LedgerKey{});
    return;
  }
  const std::string stored =
      ledger::storageKey(runtime.config().global.idempotency_store.key_prefix, scope, key);
  store->inspect(stored, release, [done = std::move(done)](ledger::Inspection inspection) {
    static constexpr const char* kStates[] = {"in_flight", "done", "not_kept", "unknown"};
    admin::LedgerKey out;
    switch (inspection.result) {
      case ledger::Inspection::Result::StoreError:
        out.result = Result::StoreError;
        out.error = std::move(inspection.error);
        break;
      case ledger::Inspection::Result::NotFound:
        out.result = Result::NotFound;
        break;
      case ledger::Inspection::Result::Found:
        out.result = Result::Found;
        out.state = kStates[static_cast<size_t>(inspection.entry.state)];
        if (inspection.entry.state == ledger::EntryState::Done)
          out.status = inspection.entry.answer.status;
        out.released = inspection.released;
        break;
    }
    done(std::move(out));
  });
}

}  // namespace fulcrum::app
