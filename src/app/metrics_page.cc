#include "app/metrics_page.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "core/access_log.h"
#include "core/local_errors.h"
#include "core/time_text.h"
#include "health/outlier.h"
#include "metrics/families.h"
#include "net/proxy_header_session.h"

namespace fulcrum::app {
namespace {

// The families and counters this page renders are metrics' own.
using namespace fulcrum::metrics;
using prometheus::ClientMetric;
using Labels = std::vector<ClientMetric::Label>;

// fulcrum_idempotency_requests_total results, by index (see
// metrics::kIdempotencyResults and http::LedgerResult).
constexpr const char* kLedgerResults[kIdempotencyResults] = {
    "first", "replayed", "conflict", "mismatch", "missing_key", "store_error", "unknown_held"};

// When this process started (UTC, to the millisecond): across a takeover
// two processes of the same build serve for a moment, and this tells the
// scrapes of one from the other's.
const std::string kStarted = [] {
  char text[32];
  formatUtcNow(text, sizeof(text));
  return std::string(text);
}();

class Builder {
 public:
  // Families are handed out by reference while more are added: no
  // reallocation may move them.
  Builder() { families_.reserve(static_cast<size_t>(Family::Count)); }

  prometheus::MetricFamily& family(Family which) {
    const FamilyInfo& about = info(which);
    families_.push_back(
        prometheus::MetricFamily{std::string(about.name), std::string(about.help), about.type, {}});
    return families_.back();
  }
  static void counter(prometheus::MetricFamily& family, Labels labels, double value) {
    ClientMetric metric;
    metric.label = std::move(labels);
    metric.counter.value = value;
    family.metric.push_back(std::move(metric));
  }
  static void gauge(prometheus::MetricFamily& family, Labels labels, double value) {
    ClientMetric metric;
    metric.label = std::move(labels);
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
  }
  static void histogram(prometheus::MetricFamily& family, Labels labels, const Histogram& data) {
    histogram(family, std::move(labels), data.counts, kResponseBuckets, data.sum, data.count);
  }
  // `counts` by bucket, the last one past every bound (+Inf).
  template <size_t Bounds>
  static void histogram(prometheus::MetricFamily& family, Labels labels,
                        const std::array<uint64_t, Bounds + 1>& counts,
                        const std::array<double, Bounds>& bounds, double sum, uint64_t count) {
    ClientMetric metric;
    metric.label = std::move(labels);
    metric.histogram.sample_count = count;
    metric.histogram.sample_sum = sum;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < Bounds; ++i) {
      cumulative += counts[i];
      metric.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    cumulative += counts.back();
    metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    family.metric.push_back(std::move(metric));
  }
  std::string text() const { return prometheus::TextSerializer().Serialize(families_); }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

void renderGlobal(Builder& out, const GenerationShape& shape, const ReloadStats& reloads,
                  const std::vector<WorkerProgress>& progress) {
  Builder::gauge(out.family(Family::BuildInfo),
                 {{"version", FULCRUM_VERSION}, {"started", kStarted}}, 1);
  auto& reload_family = out.family(Family::ConfigReloads);
  Builder::counter(reload_family, {{"result", "success"}}, static_cast<double>(reloads.succeeded));
  Builder::counter(reload_family, {{"result", "failure"}}, static_cast<double>(reloads.failed));
  Builder::gauge(out.family(Family::ConfigLastReloadSuccessful), {},
                 reloads.last_successful ? 1 : 0);
  Builder::gauge(out.family(Family::ConfigGeneration), {}, static_cast<double>(shape.number));
  auto& worker_generation = out.family(Family::WorkerConfigGeneration);
  auto& host_set_updates = out.family(Family::WorkerHostSetUpdates);
  for (size_t w = 0; w < progress.size(); ++w) {
    const Labels worker{{"worker", std::to_string(w)}};
    Builder::gauge(worker_generation, worker, static_cast<double>(progress[w].generation));
    Builder::counter(host_set_updates, worker, static_cast<double>(progress[w].host_set_updates));
  }
  // Process-wide: it goes on across reloads, also while the log is off.
  Builder::counter(out.family(Family::AccessLogDropped), {},
                   static_cast<double>(AccessLog::droppedTotal()));
}

void renderListeners(Builder& out, const GenerationShape& shape, const WorkerMetrics& workers) {
  auto& active = out.family(Family::DownstreamConnectionsActive);
  auto& total = out.family(Family::DownstreamConnections);
  auto& proxy_rejected = out.family(Family::ProxyProtocolRejected);
  auto& requests = out.family(Family::HttpRequests);
  const auto& upstreams = shape.upstreams;
  for (size_t l = 0; l < shape.listener_names.size() && l < workers.listeners.size(); ++l) {
    const std::string& name = shape.listener_names[l];
    const ListenerCounters& counts = workers.listeners[l];
    Builder::gauge(active, {{"listener", name}}, static_cast<double>(counts.connections_active));
    Builder::counter(total, {{"listener", name}}, static_cast<double>(counts.connections_total));
    if (l < shape.reads_proxy_header.size() && shape.reads_proxy_header[l])
      for (size_t r = 0; r < counts.proxy_rejected.size(); ++r)
        Builder::counter(proxy_rejected,
                         {{"listener", name},
                          {"reason", net::proxyRejectionName(static_cast<net::ProxyRejection>(r))}},
                         static_cast<double>(counts.proxy_rejected[r]));
    if (l < shape.has_ledger.size() && shape.has_ledger[l])
      for (size_t r = 0; r < counts.idempotency.size(); ++r)
        Builder::counter(out.family(Family::IdempotencyRequests),
                         {{"listener", name}, {"result", kLedgerResults[r]}},
                         static_cast<double>(counts.idempotency[r]));
    // Counts are in this Runtime's shape (app/counter_carry.h); the bound
    // keeps a mismatch from ever reading past the upstreams.
    for (size_t slot = 0; slot < counts.requests.size() && slot <= upstreams.size(); ++slot) {
      const std::string upstream = slot == 0 ? "" : upstreams[slot - 1].name;
      for (const auto& entry : counts.requests[slot].entries())
        Builder::counter(
            requests,
            {{"listener", name}, {"upstream", upstream}, {"code", std::to_string(entry.code)}},
            static_cast<double>(entry.count));
    }
  }
}

void renderUpstreams(Builder& out, const GenerationShape& shape, health::HealthMonitor& monitor,
                     const WorkerMetrics& workers) {
  auto& requests = out.family(Family::UpstreamRequests);
  auto& response_time = out.family(Family::UpstreamResponseSeconds);
  auto& connect_failures = out.family(Family::UpstreamConnectFailures);
  auto& opened = out.family(Family::UpstreamConnectionsOpened);
  auto& server_up = out.family(Family::UpstreamServerUp);
  auto& active = out.family(Family::UpstreamServerActiveRequests);
  auto& healthy = out.family(Family::UpstreamHealthyServers);
  auto& configured = out.family(Family::UpstreamServers);
  auto& panic = out.family(Family::UpstreamPanic);
  auto& checks = out.family(Family::HealthChecks);
  auto& ejections = out.family(Family::OutlierEjections);
  auto& rejections = out.family(Family::CircuitBreakerRejections);
  // Retries and refusals start at 0 so that the first one shows in increase().
  auto& retries = out.family(Family::Retries);
  auto& refused = out.family(Family::RetriesRefused);
  auto& bytes = out.family(Family::UpstreamBytes);
  auto& without_key = out.family(Family::PicksWithoutHashKey);
  const auto& upstreams = shape.upstreams;
  for (size_t u = 0; u < upstreams.size(); ++u) {
    const upstream::Upstream& upstream = upstreams[u];
    const UpstreamCounters* counts = u < workers.upstreams.size() ? &workers.upstreams[u] : nullptr;
    health::UpstreamHealth& health = monitor.upstream(u);
    size_t usable = 0;
    for (const upstream::Server& server : upstream.servers) {
      Labels labels{{"upstream", upstream.name}, {"server", server.label}};
      auto with = [&labels](const char* name, std::string value) {
        Labels more = labels;
        more.push_back({name, std::move(value)});
        return more;
      };
      const health::UpstreamHealth::ServerView view = health.view(server.index);
      usable += view.usable;
      Builder::gauge(server_up, labels, view.usable ? 1 : 0);
      Builder::counter(checks, with("result", "passed"), static_cast<double>(view.checks_passed));
      Builder::counter(checks, with("result", "failed"), static_cast<double>(view.checks_failed));
      for (size_t r = 0; r < view.ejections.size(); ++r)
        Builder::counter(
            ejections,
            with("reason", health::ejectionReasonName(static_cast<health::EjectionReason>(r))),
            static_cast<double>(view.ejections[r]));
      if (counts == nullptr || server.index >= counts->servers.size()) continue;
      const ServerCounters& server_counts = counts->servers[server.index];
      for (const auto& entry : server_counts.responses.entries())
        Builder::counter(requests, with("code", std::to_string(entry.code)),
                         static_cast<double>(entry.count));
      Builder::histogram(response_time, labels, server_counts.response_time);
      Builder::counter(connect_failures, labels,
                       static_cast<double>(server_counts.connect_failures));
      Builder::counter(opened, labels, static_cast<double>(server_counts.connections_opened));
      Builder::gauge(active, labels, static_cast<double>(server_counts.active));
    }
    Labels upstream_label{{"upstream", upstream.name}};
    static constexpr const char* kRefused[] = {"non_idempotent", "budget", "body_too_large"};
    static constexpr const char* kRetried[] = {
        "connect_failure", "reset", "timeout", "502", "503", "504", "stale_connection"};
    for (size_t r = 0; r < 3; ++r)
      Builder::counter(refused, {{"upstream", upstream.name}, {"reason", kRefused[r]}},
                       counts ? static_cast<double>(counts->retries_refused[r]) : 0);
    for (size_t r = 0; r < kRetryReasons; ++r)
      Builder::counter(retries, {{"upstream", upstream.name}, {"reason", kRetried[r]}},
                       counts ? static_cast<double>(counts->retries[r]) : 0);
    Builder::gauge(healthy, upstream_label, static_cast<double>(usable));
    Builder::gauge(configured, upstream_label, static_cast<double>(upstream.servers.size()));
    Builder::gauge(panic, upstream_label, health.panic() ? 1 : 0);
    if (const auto& breaker = upstream.breaker) {
      using upstream::BreakerResource;
      for (auto [resource, limit] : {std::pair{BreakerResource::Connections, "max_connections"},
                                     std::pair{BreakerResource::Pending, "max_pending"},
                                     std::pair{BreakerResource::Requests, "max_requests"}})
        Builder::counter(rejections, {{"upstream", upstream.name}, {"limit", limit}},
                         static_cast<double>(breaker->rejected(resource)));
    }
    if (counts == nullptr) continue;
    Builder::counter(bytes, {{"upstream", upstream.name}, {"direction", "sent"}},
                     static_cast<double>(counts->bytes_sent));
    Builder::counter(bytes, {{"upstream", upstream.name}, {"direction", "received"}},
                     static_cast<double>(counts->bytes_received));
    if (upstream.strategy->uses_hash)
      Builder::counter(without_key, upstream_label, static_cast<double>(counts->picks_without_key));
  }
}

void renderLimits(Builder& out, const GenerationShape& shape, const net::ConnectionLimit* limit) {
  if (limit != nullptr) {
    Builder::gauge(out.family(Family::MaxConnections), {}, static_cast<double>(limit->max()));
    auto& limited = out.family(Family::DownstreamConnectionsLimited);
    for (const auto& name : shape.listener_names)
      Builder::counter(limited, {{"listener", name}}, static_cast<double>(limit->limited(name)));
  }
  // Every series from the start, so the first error shows in increase().
  auto& errors = out.family(Family::LocalResourceErrors);
  for (size_t site = 0; site < static_cast<size_t>(LocalSite::Count); ++site)
    for (size_t kind = 0; kind < kLocalErrorKinds; ++kind)
      Builder::counter(
          errors,
          {{"where", localSiteName(static_cast<LocalSite>(site))}, {"error", localErrorName(kind)}},
          static_cast<double>(localErrorCount(static_cast<LocalSite>(site), kind)));
}

// TLS listeners only: a handshake result series on a plain listener would
// always be 0. Every result from the start, so the first failure of a kind
// shows in increase().
void renderHandshakes(Builder& out, const GenerationShape& shape, const WorkerMetrics& workers) {
  auto& handshakes = out.family(Family::TlsHandshakes);
  for (size_t l = 0; l < shape.listener_tls.size() && l < shape.listener_names.size(); ++l) {
    if (shape.listener_tls[l] == nullptr) continue;
    const ListenerCounters* counts = l < workers.listeners.size() ? &workers.listeners[l] : nullptr;
    for (size_t r = 0; r < tls::kHandshakeResults; ++r)
      Builder::counter(
          handshakes,
          {{"listener", shape.listener_names[l]},
           {"result",
            std::string(tls::handshakeResultLabel(static_cast<tls::HandshakeResult>(r)))}},
          counts ? static_cast<double>(counts->handshakes[r]) : 0);
  }
}

// One series per certificate of a scope ("listener:NAME" or
// "upstream:NAME"), name its subject's CN. Two certificates of one scope
// with the same subject (an RSA and an ECDSA one) share a series, which
// shows the earlier expiry: the one an alert must see, and a family may
// not repeat a label set.
void renderScopeCertificates(prometheus::MetricFamily& expiry, const std::string& scope,
                             const std::vector<tls::CertificateInfo>& certificates) {
  std::vector<std::pair<std::string, int64_t>> earliest;  // subject -> not_after
  for (const tls::CertificateInfo& certificate : certificates) {
    auto same = std::find_if(earliest.begin(), earliest.end(),
                             [&](const auto& seen) { return seen.first == certificate.subject; });
    if (same == earliest.end())
      earliest.emplace_back(certificate.subject, certificate.not_after);
    else
      same->second = std::min(same->second, certificate.not_after);
  }
  for (const auto& [subject, not_after] : earliest)
    Builder::gauge(expiry, {{"scope", scope}, {"name", subject}}, static_cast<double>(not_after));
}

// Every certificate fulcrum presents: the listeners' and the client
// certificates of upstreams.
void renderCertificates(Builder& out, const GenerationShape& shape) {
  auto& expiry = out.family(Family::TlsCertificateExpiry);
  for (size_t l = 0; l < shape.listener_tls.size() && l < shape.listener_names.size(); ++l)
    if (shape.listener_tls[l] != nullptr)
      renderScopeCertificates(expiry, "listener:" + shape.listener_names[l],
                              shape.listener_tls[l]->certificates());
  for (const upstream::Upstream& upstream : shape.upstreams)
    if (upstream.tls && upstream.tls->certificate())
      renderScopeCertificates(expiry, "upstream:" + upstream.name, {*upstream.tls->certificate()});
}

// Every reason from the start, so the first refusal shows in increase().
void renderAdmin(Builder& out, const admin::RefusalCounts* refusals) {
  if (refusals == nullptr) return;
  auto& refused = out.family(Family::AdminRequestsRefused);
  for (size_t reason = 0; reason < refusals->size(); ++reason)
    Builder::counter(refused,
                     {{"reason", admin::refusalLabel(static_cast<admin::Refusal>(reason))}},
                     static_cast<double>((*refusals)[reason]));
}

}  // namespace

std::string renderMetrics(const GenerationShape& shape, health::HealthMonitor& monitor,
                          const metrics::WorkerMetrics& workers, const ReloadStats& reloads,
                          const std::vector<WorkerProgress>& progress,
                          const net::ConnectionLimit* limit,
                          const admin::RefusalCounts* admin_refusals,
                          const std::map<std::string, discovery::ResultCounts>* dns) {
  Builder out;
  renderGlobal(out, shape, reloads, progress);
  renderListeners(out, shape, workers);
  renderUpstreams(out, shape, monitor, workers);
  renderLimits(out, shape, limit);
  renderAdmin(out, admin_refusals);
  renderHandshakes(out, shape, workers);
  renderCertificates(out, shape);
  if (dns != nullptr && !dns->empty()) {
    auto& lookups = out.family(Family::DnsResolutions);
    for (const auto& [upstream, counts] : *dns)
      for (size_t r = 0; r < counts.size(); ++r)
        Builder::counter(
            lookups,
            {{"upstream", upstream},
             {"result", discovery::lookupResultName(static_cast<discovery::LookupResult>(r))}},
            static_cast<double>(counts[r]));
  }
  if (shape.idempotency_store != nullptr) {
    if (shape.idempotency_store->entries() >= 0)
      Builder::gauge(out.family(Family::IdempotencyEntries), {},
                     static_cast<double>(shape.idempotency_store->entries()));
    // Every operation from the start, so the first one shows in rate().
    auto& store_seconds = out.family(Family::IdempotencyStoreSeconds);
    for (size_t o = 0; o < ledger::kStoreOperations; ++o)
      Builder::histogram(
          store_seconds,
          {{"operation", ledger::storeOperationName(static_cast<ledger::StoreOperation>(o))}},
          workers.ledger_store.by_operation[o].counts, ledger::kStoreBuckets,
          workers.ledger_store.by_operation[o].sum, workers.ledger_store.by_operation[o].count);
  }
  return out.text();
}

}  // namespace fulcrum::app
