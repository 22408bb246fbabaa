// One built config generation: upstreams with their servers and strategy
// factories, and listeners pointing at them. Built only from a validated
// Config; immutable and shared by every worker as shared_ptr<const Runtime>.
// A connection keeps the generation it started with until it ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "core/access_log.h"
#include "upstream/upstream.h"

namespace fulcrum::app {

struct ListenerRuntime {
  std::string name;
  SocketAddress address;  // as configured (port may be 0 until bound)
  config::Protocol protocol = config::Protocol::Tcp;
  const upstream::Upstream* upstream = nullptr;  // points into the same Runtime
  std::chrono::milliseconds idle_timeout{0};
  unsigned backlog = 511;
};

class Runtime {
 public:
  // Fails only on what validation cannot know (e.g. the access log file).
  static std::shared_ptr<const Runtime> build(config::Config config, std::string& why);

  const config::Config& config() const { return config_; }
  const std::vector<upstream::Upstream>& upstreams() const { return upstreams_; }
  const std::vector<ListenerRuntime>& listeners() const { return listeners_; }
  AccessLog* accessLog() const { return access_log_.get(); }  // null when off

 private:
  Runtime() = default;

  config::Config config_;
  std::vector<upstream::Upstream> upstreams_;
  std::vector<ListenerRuntime> listeners_;
  std::unique_ptr<AccessLog> access_log_;
};

}  // namespace fulcrum::app
