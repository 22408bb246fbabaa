// The proxy's side of the admin listener (admin::ProxyControl): gathers the
// workers' counters for /metrics, builds the /status snapshot from the
// health monitor, and applies /api drains. Lives on the control loop with
// the Process that owns it; everything it references outlives it.
// Worker counters are gathered by asking each worker to copy its own (a
// post there and a post back), so nothing is read across threads but the
// few atomics a Worker keeps for that (what it has applied).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "admin/proxy_control.h"
#include "admin/request_gate.h"
#include "app/metrics_page.h"
#include "app/runtime.h"
#include "app/worker.h"
#include "discovery/discovery.h"
#include "health/monitor.h"
#include "ledger/redis_store.h"
#include "metrics/worker_metrics.h"
#include "net/connection_limit.h"
#include "net/event_loop.h"

namespace fulcrum::app {

struct ProxyState {
  std::shared_ptr<const Runtime> runtime;
  const std::vector<std::unique_ptr<Worker>>* workers = nullptr;
  health::HealthMonitor* monitor = nullptr;
  const bool* draining = nullptr;
  const app::ReloadStats* reloads = nullptr;
  std::vector<std::string> listener_addresses;             // as bound, by listener index
  const net::ConnectionLimit* connection_limit = nullptr;  // global.max_connections
  const admin::RefusalCounts* admin_refusals = nullptr;    // the admin listener's
  const discovery::Discovery* discovery = nullptr;         // servers from DNS; may be null
};

// What the admin listener lets through, from global.admin.
admin::AccessPolicy accessPolicy(const config::AdminConfig& admin);

class ProxyAdmin final : public admin::ProxyControl {
 public:
  ProxyAdmin(net::EventLoop& loop, ProxyState state);

  void collectMetrics(std::function<void(std::string text)> done) override;
  bool draining() const override { return *state_.draining; }
  admin::Status status() override;
  void ledgerKey(const std::string& key, const std::string& scope, bool release,
                 std::function<void(admin::LedgerKey)> done) override;
  admin::DrainResult setAdminDrain(const std::string& upstream, const std::string& server,
                                   bool drained) override;
  // After a reload: the new generation, its monitor and its listeners.
  void retarget(std::shared_ptr<const Runtime> runtime, health::HealthMonitor* monitor,
                std::vector<std::string> listener_addresses);

 private:
  // Sums every worker's copy in the shape of the running generation, then
  // calls `done` on the control loop.
  void gather(std::function<void(const metrics::WorkerMetrics&)> done);
  // What each worker has applied, read now (Worker's atomics), by index.
  std::vector<app::WorkerProgress> workerProgress() const;

  net::EventLoop& loop_;
  ProxyState state_;
  std::chrono::steady_clock::time_point started_;
  // The last gathered counters, for /status (refreshed as it is asked for).
  std::shared_ptr<metrics::WorkerMetrics> last_;
  bool refreshing_ = false;
  // The control loop's own connection to a Redis ledger (admin API
  // questions), and the previous generation's.
  std::unique_ptr<ledger::RedisStore> redis_, retired_redis_;
  // Scrapes waiting for the rendering in progress.
  std::vector<std::function<void(std::string)>> scrape_waiters_;
};

}  // namespace fulcrum::app
