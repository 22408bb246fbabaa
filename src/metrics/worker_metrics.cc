#include "metrics/worker_metrics.h"

namespace fulcrum::metrics {

void WorkerMetrics::merge(const WorkerMetrics& other) {
  if (listeners.size() < other.listeners.size()) listeners.resize(other.listeners.size());
  for (size_t l = 0; l < other.listeners.size(); ++l) {
    ListenerCounters& mine = listeners[l];
    const ListenerCounters& theirs = other.listeners[l];
    mine.connections_total += theirs.connections_total;
    mine.connections_active += theirs.connections_active;
    if (mine.requests.size() < theirs.requests.size()) mine.requests.resize(theirs.requests.size());
    for (size_t u = 0; u < theirs.requests.size(); ++u) mine.requests[u].merge(theirs.requests[u]);
  }
  if (upstreams.size() < other.upstreams.size()) upstreams.resize(other.upstreams.size());
  for (size_t u = 0; u < other.upstreams.size(); ++u) {
    UpstreamCounters& mine = upstreams[u];
    const UpstreamCounters& theirs = other.upstreams[u];
    mine.bytes_sent += theirs.bytes_sent;
    mine.bytes_received += theirs.bytes_received;
    mine.picks_without_key += theirs.picks_without_key;
    for (size_t r = 0; r < mine.retries.size(); ++r) mine.retries[r] += theirs.retries[r];
    for (size_t r = 0; r < mine.retries_refused.size(); ++r)
      mine.retries_refused[r] += theirs.retries_refused[r];
    if (mine.servers.size() < theirs.servers.size()) mine.servers.resize(theirs.servers.size());
    for (size_t s = 0; s < theirs.servers.size(); ++s) {
      mine.servers[s].responses.merge(theirs.servers[s].responses);
      mine.servers[s].response_time.merge(theirs.servers[s].response_time);
      mine.servers[s].connect_failures += theirs.servers[s].connect_failures;
      mine.servers[s].active += theirs.servers[s].active;
    }
  }
}

}  // namespace fulcrum::metrics
