// Renders the Prometheus text (format 0.0.4) from one scrape's inputs: the
// workers' counters summed, the health monitor's state and counts, the
// circuit breakers' rejection counts and the reload history. Control loop
// only (it reads the monitor); allocation is fine here, it is per scrape.
#pragma once

#include <cstdint>
#include <string>

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

// `limit` (global.max_connections) may be null: its families are left out.
std::string renderMetrics(const app::Runtime& runtime, health::HealthMonitor& monitor,
                          const WorkerMetrics& workers, const ReloadStats& reloads,
                          const net::ConnectionLimit* limit = nullptr);

}  // namespace fulcrum::metrics
