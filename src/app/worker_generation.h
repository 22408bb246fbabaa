// A worker's own state for one configuration generation: per upstream its
// picker, idle connection pool, outlier reporter, circuit breaker wait queue
// and retry budget, and the worker's counters in the generation's shape.
// Built from one Runtime when the worker starts and at each reload; the
// sessions that started on it keep it alive (shared_ptr) until they end, so
// a reload never pulls state from under a request in flight (they hold it
// as a net::Generation, the type the layers below app can name).
// Worker thread only: made, used and freed on the worker's loop (its pools
// and wait queues belong to that loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "app/runtime.h"
#include "core/random.h"
#include "health/outlier_reporter.h"
#include "http/retry_budget.h"
#include "http/session.h"
#include "ledger/redis_store.h"
#include "metrics/worker_metrics.h"
#include "net/event_loop.h"
#include "net/session.h"
#include "upstream/attempt_report.h"
#include "upstream/conn_pool.h"
#include "upstream/picker.h"
#include "upstream/wait_queue.h"

namespace fulcrum::app {

// How a worker's data path reaches outlier detection on the control loop:
// called on the worker's thread, must only post.
// `runtime` says which configuration generation the indexes belong to.
using ReportAttempt = std::function<void(const Runtime* runtime, size_t upstream_index,
                                         uint32_t server, const upstream::Attempt& attempt)>;

// One upstream's parts, on one worker, in one generation.
struct UpstreamSlot {
  std::unique_ptr<upstream::UpstreamPicker> picker;
  std::unique_ptr<upstream::ConnPool> pool;
  std::unique_ptr<health::OutlierReporter> reporter;
  std::shared_ptr<upstream::ConnectionWaitQueue>
      wait_queue;  // its breaker's waker holds a weak_ptr
  std::unique_ptr<http::RetryBudget> retry_budget;
};

struct WorkerGeneration final : net::Generation {
  // Everything below is built from it and points into it.
  std::shared_ptr<const Runtime> runtime;
  std::vector<UpstreamSlot> upstreams;  // by upstream index in the Runtime
  // What HTTP sessions read of `upstreams`, by the same index.
  std::vector<http::UpstreamState> http_upstreams;
  metrics::WorkerMetrics metrics;  // sized for this Runtime, never resized
  // This worker's connection to a Redis idempotency store; null otherwise.
  std::unique_ptr<ledger::RedisStore> redis;

  // Pickers start with no servers: rebuild them with the HostSets.
  // `report` is empty when no upstream has outlier_detection. `loop` and
  // `random` are the worker's and outlive the generation.
  static std::shared_ptr<WorkerGeneration> build(std::shared_ptr<const Runtime> runtime,
                                                 net::EventLoop& loop, Random& random,
                                                 const ReportAttempt& report);

  // Takes over the idle kept-alive connections of `before` (the running
  // generation at a reload) to servers that did not change.
  void adoptIdleConnections(WorkerGeneration& before);
  // Continues the totals counted in `before` (Prometheus counters do not
  // reset at a reload); in-flight counts start at 0, for the caller to
  // count what really is open. `listener_from`: see carryCounters().
  void carryTotals(const WorkerGeneration& before, const std::vector<int>& listener_from);
  // The counters with what the pickers count themselves.
  metrics::WorkerMetrics counters() const;
  // Closes the pooled connections and leaves the breakers' wait lists, on
  // the loop's thread, before the worker's loop goes.
  void closeConnections();
};

}  // namespace fulcrum::app
