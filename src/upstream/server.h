// A backend server as one config generation sees it. Immutable once the
// Runtime is built; shared read-only by every worker. Mutable per-server
// state (health, counters) lives elsewhere and is keyed by `index`.
#pragma once

#include <cstdint>
#include <string>

#include "core/socket_address.h"

namespace fulcrum::upstream {

struct Server {
  std::string label;      // the config's name, or its address as written
  SocketAddress address;  // resolved at load time
  unsigned weight = 1;    // 1..256
  bool backup = false;
  uint32_t index = 0;  // position in its upstream's server list
  // When its upstream speaks TLS: the name sent as SNI and verified (a DNS
  // name or an IP literal; tls::ClientContext::open()).
  std::string tls_name;
};

}  // namespace fulcrum::upstream
