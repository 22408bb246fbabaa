#include "app/worker_generation.h"

#include "app/counter_carry.h"
#include "config/server_identity.h"

namespace fulcrum::app {

std::shared_ptr<WorkerGeneration> WorkerGeneration::build(std::shared_ptr<const Runtime> runtime,
                                                          net::EventLoop& loop, Random& random,
                                                          const ReportAttempt& report) {
  auto generation = std::make_shared<WorkerGeneration>();
  generation->runtime = std::move(runtime);
  const Runtime* identity = generation->runtime.get();
  const auto& upstreams = generation->runtime->upstreams();
  metrics::WorkerMetrics& counts = generation->metrics;
  counts = countersShapedFor(*generation->runtime);
  generation->upstreams.reserve(upstreams.size());
  generation->http_upstreams.reserve(upstreams.size());
  for (size_t index = 0; index < upstreams.size(); ++index) {
    const upstream::Upstream& upstream = upstreams[index];
    const bool outliers = generation->runtime->config().upstreams[index].outlier.enabled;
    health::OutlierReporter::Forward forward;
    if (outliers && report)
      forward = [report, identity, index](uint32_t server, const upstream::Attempt& attempt) {
        report(identity, index, server, attempt);
      };
    UpstreamSlot slot;
    slot.reporter =
        std::make_unique<health::OutlierReporter>(upstream.servers.size(), std::move(forward));
    slot.picker = std::make_unique<upstream::UpstreamPicker>(upstream, random);
    slot.pool = std::make_unique<upstream::ConnPool>(
        loop, upstream.servers.size(), upstream.keepalive_max_idle, upstream.keepalive_idle_timeout,
        upstream.breaker.get());
    slot.wait_queue = std::make_shared<upstream::ConnectionWaitQueue>();
    slot.wait_queue->attach(loop, upstream.breaker.get());
    slot.retry_budget = std::make_unique<http::RetryBudget>(upstream.retries.budget_percent,
                                                            upstream.retries.budget_min_per_second);
    generation->http_upstreams.push_back(http::UpstreamState{
        slot.picker.get(), slot.pool.get(), slot.reporter.get(), slot.wait_queue.get(),
        &counts.upstreams[index], slot.retry_budget.get()});
    generation->upstreams.push_back(std::move(slot));
  }
  if (const auto& redis = generation->runtime->redisSettings())
    generation->redis = std::make_unique<ledger::RedisStore>(loop, *redis);
  return generation;
}

void WorkerGeneration::adoptIdleConnections(WorkerGeneration& before) {
  const Runtime& old_runtime = *before.runtime;
  for (size_t u = 0; u < runtime->upstreams().size(); ++u) {
    const upstream::Upstream& now = runtime->upstreams()[u];
    for (size_t o = 0; o < old_runtime.upstreams().size(); ++o) {
      const upstream::Upstream& old = old_runtime.upstreams()[o];
      if (old.name != now.name || old.breaker != now.breaker) continue;
      // A connection made with other TLS settings (or none) is not one the
      // new settings would make.
      if (!config::sameOrigination(old_runtime.config().upstreams[o],
                                   runtime->config().upstreams[u]))
        continue;
      for (const upstream::Server& server : now.servers)
        for (const upstream::Server& previous : old.servers)
          if (sameServer(old_runtime, o, previous.index, *runtime, u, server.index))
            upstreams[u].pool->adopt(*before.upstreams[o].pool, previous.index, server.index);
    }
  }
}

void WorkerGeneration::carryTotals(const WorkerGeneration& before,
                                   const std::vector<int>& listener_from) {
  carryCounters(*before.runtime, before.counters(), *runtime, listener_from, metrics);
  // In-flight counts are not carried: the caller recounts them from the
  // connections and requests that really are open.
  for (auto& listener : metrics.listeners) listener.connections_active = 0;
  for (auto& upstream : metrics.upstreams)
    for (auto& server : upstream.servers) server.active = 0;
}

metrics::WorkerMetrics WorkerGeneration::counters() const {
  metrics::WorkerMetrics copy = metrics;
  for (size_t u = 0; u < copy.upstreams.size(); ++u) {
    upstream::UpstreamPicker& picker = *upstreams[u].picker;
    copy.upstreams[u].picks_without_key += picker.picksWithoutKey();
    for (size_t s = 0; s < copy.upstreams[u].servers.size(); ++s)
      copy.upstreams[u].servers[s].active = picker.load().active(static_cast<uint32_t>(s));
  }
  return copy;
}

void WorkerGeneration::closeConnections() {
  for (UpstreamSlot& slot : upstreams) {
    slot.pool.reset();
    slot.wait_queue.reset();
  }
  if (redis) redis->close();
}

}  // namespace fulcrum::app
