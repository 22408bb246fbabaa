// The health of every upstream of one config generation, on the control
// loop: one UpstreamHealth per upstream (same index as in the Runtime).
// Workers reach it only through report(), posted to the control loop; it
// reaches workers only through `publish`, which must post the HostSets to
// every worker. Lifetime: the upstreams, their configs and the loop outlive
// the monitor; the Server owns it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/schema.h"
#include "core/random.h"
#include "health/upstream_health.h"
#include "net/event_loop.h"
#include "upstream/upstream.h"

namespace fulcrum::health {

class HealthMonitor {
 public:
  using Publish =
      std::function<void(size_t upstream_index, upstream::HostSets hosts, uint64_t update)>;

  HealthMonitor(net::EventLoop& loop, const std::vector<upstream::Upstream>& upstreams,
                const std::vector<config::UpstreamConfig>& configs, const Publish& publish);

  void start();
  // Carries every server whose upstream name and address are unchanged
  // from `old` (the monitor of the configuration before a reload). Before
  // start().
  void inheritFrom(const HealthMonitor& old);
  // Publishes every upstream's current HostSets.
  void publishAll();
  // Control loop only.
  void report(size_t upstream_index, uint32_t server, const upstream::Attempt& attempt);
  UpstreamHealth& upstream(size_t index) { return *upstreams_[index]; }
  size_t size() const { return upstreams_.size(); }

 private:
  const std::vector<upstream::Upstream>& upstream_specs_;
  const std::vector<config::UpstreamConfig>& configs_;
  Random random_;
  std::vector<std::unique_ptr<UpstreamHealth>> upstreams_;
};

}  // namespace fulcrum::health
