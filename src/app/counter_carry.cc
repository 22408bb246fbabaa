#include "app/counter_carry.h"

#include "config/server_identity.h"

namespace fulcrum::app {

bool sameServer(const Runtime& a, size_t u, uint32_t s, const Runtime& b, size_t v, uint32_t t) {
  const config::UpstreamConfig& first = a.config().upstreams[u];
  const config::UpstreamConfig& second = b.config().upstreams[v];
  return config::sameServer(first, first.servers[s], second, second.servers[t]);
}

std::vector<int> matchListeners(const Runtime& from, const Runtime& to) {
  const auto& before = from.listeners();
  std::vector<int> matched;
  std::vector<bool> taken(before.size(), false);
  for (const ListenerRuntime& listener : to.listeners()) {
    // The same listener (name and configured address) first. A renamed one
    // continues too when its address names a fixed port: port 0 means a
    // new, kernel-chosen port for every listener written so.
    int previous = -1;
    for (size_t j = 0; j < before.size() && previous < 0; ++j)
      if (!taken[j] && before[j].name == listener.name && before[j].address == listener.address)
        previous = static_cast<int>(j);
    for (size_t j = 0; j < before.size() && previous < 0; ++j)
      if (!taken[j] && listener.address.port() != 0 && before[j].address == listener.address)
        previous = static_cast<int>(j);
    if (previous >= 0) taken[static_cast<size_t>(previous)] = true;
    matched.push_back(previous);
  }
  return matched;
}

metrics::WorkerMetrics countersShapedFor(const Runtime& runtime) {
  metrics::WorkerMetrics counters;
  const auto& upstreams = runtime.upstreams();
  counters.listeners.resize(runtime.listeners().size());
  for (auto& listener : counters.listeners) listener.requests.resize(upstreams.size() + 1);
  counters.upstreams.resize(upstreams.size());
  for (size_t u = 0; u < upstreams.size(); ++u)
    counters.upstreams[u].servers.resize(upstreams[u].servers.size());
  return counters;
}

void carryCounters(const Runtime& from, const metrics::WorkerMetrics& counts, const Runtime& to,
                   const std::vector<int>& listener_from, metrics::WorkerMetrics& into) {
  into.ledger_store.merge(counts.ledger_store);
  // `to`'s upstream index for each of `from`'s (-1: gone), by name.
  std::vector<int> upstream_to(from.upstreams().size(), -1);
  for (size_t u = 0; u < to.upstreams().size(); ++u) {
    const upstream::Upstream& upstream = to.upstreams()[u];
    for (size_t o = 0; o < from.upstreams().size(); ++o) {
      const upstream::Upstream& previous = from.upstreams()[o];
      if (previous.name != upstream.name || o >= counts.upstreams.size()) continue;
      upstream_to[o] = static_cast<int>(u);
      const metrics::UpstreamCounters& had = counts.upstreams[o];
      metrics::UpstreamCounters& now = into.upstreams[u];
      now.mergeTotals(had);
      for (const upstream::Server& server : upstream.servers)
        for (const upstream::Server& was : previous.servers)
          if (sameServer(from, o, was.index, to, u, server.index) && was.index < had.servers.size())
            now.servers[server.index].merge(had.servers[was.index]);
    }
  }
  for (size_t i = 0; i < listener_from.size() && i < into.listeners.size(); ++i) {
    const int j = listener_from[i];
    if (j < 0 || static_cast<size_t>(j) >= counts.listeners.size()) continue;
    const metrics::ListenerCounters& had = counts.listeners[static_cast<size_t>(j)];
    metrics::ListenerCounters& now = into.listeners[i];
    now.mergeTotals(had);
    // Requests by upstream: slot 0 is "no route", slot u + 1 upstream u.
    for (size_t slot = 0; slot < had.requests.size(); ++slot) {
      if (slot == 0) {
        now.requests[0].merge(had.requests[0]);
        continue;
      }
      const size_t old_upstream = slot - 1;
      if (old_upstream >= upstream_to.size() || upstream_to[old_upstream] < 0) continue;
      now.requests[static_cast<size_t>(upstream_to[old_upstream]) + 1].merge(had.requests[slot]);
    }
  }
}

}  // namespace fulcrum::app
