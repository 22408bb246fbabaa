#include "health/monitor.h"

namespace fulcrum::health {

HealthMonitor::HealthMonitor(net::EventLoop& loop, const std::vector<upstream::Upstream>& upstreams,
                             const std::vector<config::UpstreamConfig>& configs,
                             const Publish& publish) {
  for (size_t i = 0; i < upstreams.size(); ++i) {
    upstreams_.push_back(std::make_unique<UpstreamHealth>(
        loop, upstreams[i], configs[i], random_,
        [publish, i](upstream::HostSet primaries, upstream::HostSet backups, uint64_t update) {
          publish(i, std::move(primaries), std::move(backups), update);
        }));
  }
}

void HealthMonitor::start() {
  for (auto& upstream : upstreams_) upstream->start();
}

void HealthMonitor::report(size_t upstream_index, uint32_t server, const Attempt& attempt) {
  if (upstream_index < upstreams_.size()) upstreams_[upstream_index]->report(server, attempt);
}

}  // namespace fulcrum::health
