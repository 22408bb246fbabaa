#include "metrics/worker_metrics.h"

namespace fulcrum::metrics {

void ServerCounters::merge(const ServerCounters& other) {
  responses.merge(other.responses);
  response_time.merge(other.response_time);
  connect_failures += other.connect_failures;
  connections_opened += other.connections_opened;
  active += other.active;
}

void UpstreamCounters::mergeTotals(const UpstreamCounters& other) {
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  picks_without_key += other.picks_without_key;
  for (size_t r = 0; r < retries.size(); ++r) retries[r] += other.retries[r];
  for (size_t r = 0; r < retries_refused.size(); ++r)
    retries_refused[r] += other.retries_refused[r];
}

void ListenerCounters::mergeTotals(const ListenerCounters& other) {
  connections_total += other.connections_total;
  connections_active += other.connections_active;
  for (size_t r = 0; r < proxy_rejected.size(); ++r) proxy_rejected[r] += other.proxy_rejected[r];
  for (size_t r = 0; r < idempotency.size(); ++r) idempotency[r] += other.idempotency[r];
  for (size_t r = 0; r < handshakes.size(); ++r) handshakes[r] += other.handshakes[r];
}

void WorkerMetrics::merge(const WorkerMetrics& other) {
  ledger_store.merge(other.ledger_store);
  if (listeners.size() < other.listeners.size()) listeners.resize(other.listeners.size());
  for (size_t l = 0; l < other.listeners.size(); ++l) {
    ListenerCounters& mine = listeners[l];
    const ListenerCounters& theirs = other.listeners[l];
    mine.mergeTotals(theirs);
    if (mine.requests.size() < theirs.requests.size()) mine.requests.resize(theirs.requests.size());
    for (size_t u = 0; u < theirs.requests.size(); ++u) mine.requests[u].merge(theirs.requests[u]);
  }
  if (upstreams.size() < other.upstreams.size()) upstreams.resize(other.upstreams.size());
  for (size_t u = 0; u < other.upstreams.size(); ++u) {
    UpstreamCounters& mine = upstreams[u];
    const UpstreamCounters& theirs = other.upstreams[u];
    mine.mergeTotals(theirs);
    if (mine.servers.size() < theirs.servers.size()) mine.servers.resize(theirs.servers.size());
    for (size_t s = 0; s < theirs.servers.size(); ++s) mine.servers[s].merge(theirs.servers[s]);
  }
}

}  // namespace fulcrum::metrics
