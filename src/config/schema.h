// Typed config: what the loader produces from YAML and the validator checks.
// Plain values, no behaviour. Every field that an error may point at keeps
// the Mark of where it was written. Defaults here are the documented ones
// (man/fulcrum.yaml.5).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/units.h"
#include "core/socket_address.h"

namespace fulcrum::config {

using namespace std::chrono_literals;

// 1-based position in the config file; 0 when unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

enum class Protocol { Tcp };

enum class AccessLogTarget { Off, Stdout, File };

struct LogConfig {
  std::string level = "info";
  AccessLogTarget access = AccessLogTarget::Off;
  std::string access_path;  // when access == File
};

struct AdminConfig {
  std::string listen_text = "127.0.0.1:9901";
  SocketAddress listen;  // resolved by the loader
};

struct GlobalConfig {
  unsigned workers = 0;  // 0 = auto: one per core
  AdminConfig admin;
  LogConfig log;
  Duration drain_timeout = 30s;
};

struct ServerConfig {
  std::string address_text;  // as written; the metric/log label unless name is set
  std::string name;          // optional
  SocketAddress address;
  unsigned weight = 1;
  bool backup = false;
  Mark mark;

  const std::string& label() const { return name.empty() ? address_text : name; }
};

struct UpstreamConfig {
  std::string name;
  std::string balance = "round_robin";
  std::vector<ServerConfig> servers;
  Duration connect_timeout = 5s;
  Mark mark;
  Mark balance_mark;
};

struct ListenerConfig {
  std::string name;
  std::string listen_text;
  SocketAddress address;
  Protocol protocol = Protocol::Tcp;
  std::string upstream;
  Duration idle_timeout = 1h;
  unsigned backlog = 511;
  Mark mark;
  Mark listen_mark;
  Mark upstream_mark;
};

struct Config {
  std::string file;
  GlobalConfig global;
  std::vector<ListenerConfig> listeners;
  std::vector<UpstreamConfig> upstreams;

  const UpstreamConfig* findUpstream(const std::string& name) const {
    for (const auto& upstream : upstreams)
      if (upstream.name == name) return &upstream;
    return nullptr;
  }
};

}  // namespace fulcrum::config
