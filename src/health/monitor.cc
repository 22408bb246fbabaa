#include "health/monitor.h"

#include "config/server_identity.h"

namespace fulcrum::health {

HealthMonitor::HealthMonitor(net::EventLoop& loop, const std::vector<upstream::Upstream>& upstreams,
                             const std::vector<config::UpstreamConfig>& configs,
                             const Publish& publish)
    : upstream_specs_(upstreams), configs_(configs) {
  for (size_t i = 0; i < upstreams.size(); ++i) {
    upstreams_.push_back(
        std::make_unique<UpstreamHealth>(loop, upstreams[i], configs[i], random_,
                                         [publish, i](upstream::HostSets hosts, uint64_t update) {
                                           publish(i, std::move(hosts), update);
                                         }));
  }
}

void HealthMonitor::start() {
  for (auto& upstream : upstreams_) upstream->start();
}

void HealthMonitor::inheritFrom(const HealthMonitor& old) {
  for (size_t u = 0; u < upstream_specs_.size(); ++u) {
    for (size_t o = 0; o < old.upstream_specs_.size(); ++o) {
      const config::UpstreamConfig& before = old.configs_[o];
      const config::UpstreamConfig& now = configs_[u];
      for (uint32_t to = 0; to < now.servers.size(); ++to)
        for (uint32_t from = 0; from < before.servers.size(); ++from)
          if (config::sameServer(before, before.servers[from], now, now.servers[to]))
            upstreams_[u]->inherit(*old.upstreams_[o], from, to);
    }
  }
}

void HealthMonitor::publishAll() {
  for (auto& upstream : upstreams_) upstream->publishNow();
}

void HealthMonitor::report(size_t upstream_index, uint32_t server,
                           const upstream::Attempt& attempt) {
  if (upstream_index < upstreams_.size()) upstreams_[upstream_index]->report(server, attempt);
}

}  // namespace fulcrum::health
