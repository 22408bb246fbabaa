// Renders the Prometheus text (format 0.0.4) from one scrape's inputs: the
// workers' counters summed, the health monitor's state and counts, the
// circuit breakers' rejection counts, the reload history and what each
// worker has applied (configuration generation, health publications).
// Control loop only (it reads the monitor); allocation is fine here, it is
// per scrape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/runtime.h"
#include "health/monitor.h"
#include "metrics/worker_metrics.h"
#include "net/connection_limit.h"

namespace fulcrum::metrics {

struct ReloadStats {
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  bool last_successful = true;
};

// What one worker has applied of the control loop's changes (read when
// scraped, see app/worker.h).
struct WorkerProgress {
  uint64_t generation = 0;        // the configuration generation it runs
  uint64_t host_set_updates = 0;  // health publications applied
};

// `progress` is by worker index. `limit` (global.max_connections) may be
// null: its families are left out.
std::string renderMetrics(const app::Runtime& runtime, health::HealthMonitor& monitor,
                          const WorkerMetrics& workers, const ReloadStats& reloads,
                          const std::vector<WorkerProgress>& progress,
                          const net::ConnectionLimit* limit = nullptr);

}  // namespace fulcrum::metrics
