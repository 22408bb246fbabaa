#include "app/runtime.h"

#include "upstream/registry.h"

namespace fulcrum::app {

std::shared_ptr<const Runtime> Runtime::build(config::Config config, std::string& why) {
  std::shared_ptr<Runtime> runtime(new Runtime());
  const config::LogConfig& log = config.global.log;
  if (log.access != config::AccessLogTarget::Off) {
    runtime->access_log_ =
        AccessLog::open(log.access == config::AccessLogTarget::Stdout ? "-" : log.access_path, why);
    if (!runtime->access_log_) return nullptr;
  }
  // Reserve first: listeners keep pointers into this vector.
  runtime->upstreams_.reserve(config.upstreams.size());
  for (const auto& spec : config.upstreams) {
    upstream::Upstream built;
    built.name = spec.name;
    built.strategy = upstream::findStrategy(spec.balance);
    built.connect_timeout = spec.connect_timeout;
    for (const auto& server : spec.servers) {
      built.servers.push_back(upstream::Server{server.label(), server.address, server.weight,
                                               server.backup,
                                               static_cast<uint32_t>(built.servers.size())});
    }
    runtime->upstreams_.push_back(std::move(built));
  }
  for (const auto& spec : config.listeners) {
    ListenerRuntime listener;
    listener.name = spec.name;
    listener.address = spec.address;
    listener.protocol = spec.protocol;
    listener.idle_timeout = spec.idle_timeout;
    listener.backlog = spec.backlog;
    for (const auto& built : runtime->upstreams_)
      if (built.name == spec.upstream) listener.upstream = &built;
    runtime->listeners_.push_back(std::move(listener));
  }
  runtime->config_ = std::move(config);
  return runtime;
}

}  // namespace fulcrum::app
