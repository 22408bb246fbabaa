// Renders the Prometheus text (format 0.0.4) from one scrape's inputs: the
// workers' counters summed, the health monitor's state and counts, the
// circuit breakers' rejection counts, the reload history, what each
// worker has applied (configuration generation, health publications) and
// the TLS listeners' handshakes and certificates.
// Control loop only (it reads the monitor); allocation is fine here, it is
// per scrape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "admin/request_gate.h"
#include "discovery/discovery.h"
#include "health/monitor.h"
#include "ledger/store.h"
#include "metrics/worker_metrics.h"
#include "net/connection_limit.h"
#include "tls/server_context.h"
#include "upstream/upstream.h"

namespace fulcrum::app {

struct ReloadStats {
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  bool last_successful = true;
};

// The running generation, as far as the page names things: the counters
// are in its shape (app/counter_carry.h).
struct GenerationShape {
  uint64_t number = 0;                      // 1 at start, +1 per reload
  std::vector<std::string> listener_names;  // in the generation's order
  const std::vector<upstream::Upstream>& upstreams;
  std::vector<bool> reads_proxy_header = {};  // by listener: proxy_protocol is not off
  // By listener, in the same order: its TLS context, null for a plain one
  // (or when left out: no TLS family is rendered for it then).
  std::vector<const tls::ServerContext*> listener_tls = {};
  std::vector<bool> has_ledger = {};  // by listener: some route has an idempotency ledger
  const ledger::Store* idempotency_store = nullptr;  // null: no route has a ledger
};

// What one worker has applied of the control loop's changes (read when
// scraped, see app/worker.h).
struct WorkerProgress {
  uint64_t generation = 0;        // the configuration generation it runs
  uint64_t host_set_updates = 0;  // health publications applied
};

// `progress` is by worker index. `limit` (global.max_connections),
// `admin_refusals` (the admin listener's) and `dns` (lookups by upstream)
// may be null: their families are left out.
std::string renderMetrics(const GenerationShape& shape, health::HealthMonitor& monitor,
                          const metrics::WorkerMetrics& workers, const ReloadStats& reloads,
                          const std::vector<WorkerProgress>& progress,
                          const net::ConnectionLimit* limit = nullptr,
                          const admin::RefusalCounts* admin_refusals = nullptr,
                          const std::map<std::string, discovery::ResultCounts>* dns = nullptr);

}  // namespace fulcrum::app
