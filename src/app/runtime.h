// One built config generation: upstreams with their servers and strategy
// factories, and listeners pointing at them. Built only from a validated
// Config; immutable and shared by every worker as shared_ptr<const Runtime>.
// A connection keeps the generation it started with until it ends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "core/access_log.h"
#include "http/parser.h"
#include "http/routes.h"
#include "upstream/upstream.h"

namespace fulcrum::app {

struct ListenerRuntime {
  std::string name;
  SocketAddress address;  // as configured (port may be 0 until bound)
  config::Protocol protocol = config::Protocol::Tcp;
  const upstream::Upstream* upstream = nullptr;  // tcp: points into the same Runtime
  std::chrono::milliseconds idle_timeout{0};
  unsigned backlog = 511;
  // HTTP listeners: routes in order (a catch-all `upstream:` is the last).
  std::vector<http::Route> routes;
  http::Limits limits;
  uint64_t max_body = 0;  // 0 = no limit
  std::chrono::milliseconds client_header_timeout{0};
  std::chrono::milliseconds client_idle_timeout{0};
  std::chrono::milliseconds client_body_timeout{0};
  std::chrono::milliseconds client_body_total_timeout{0};  // 0 = none
  std::chrono::milliseconds client_send_timeout{0};
  std::chrono::milliseconds upstream_send_timeout{0};
  std::chrono::milliseconds request_timeout{0};  // 0 = none
};

class Runtime {
 public:
  // Fails only on what validation cannot know (e.g. the access log file).
  // `previous` (a reload's running generation, may be null) lends its
  // circuit breakers to upstreams whose name and limits did not change, so
  // their counts go on across the reload.
  static std::shared_ptr<const Runtime> build(config::Config config, std::string& why,
                                              const Runtime* previous = nullptr);

  // The configuration generation number, as /status.json and /metrics show
  // it: 1 without `previous`, else one more than `previous`'s. A reload that
  // fails after building discards its Runtime, so the running number goes
  // up by one per successful reload.
  uint64_t generation() const { return generation_; }

  const config::Config& config() const { return config_; }
  const std::vector<upstream::Upstream>& upstreams() const { return upstreams_; }
  const std::vector<ListenerRuntime>& listeners() const { return listeners_; }
  AccessLog* accessLog() const { return access_log_.get(); }  // null when off
  const upstream::Upstream* findUpstream(const std::string& name) const;

 private:
  Runtime() = default;

  uint64_t generation_ = 1;
  config::Config config_;
  std::vector<upstream::Upstream> upstreams_;
  std::vector<ListenerRuntime> listeners_;
  std::unique_ptr<AccessLog> access_log_;
};

}  // namespace fulcrum::app
