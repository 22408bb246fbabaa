// How a reload tells "the same server" in the running and the new config:
// the same upstream name, and the server's address as written (a name
// that resolves elsewhere now is still the server the operator meant).
// The worker's pooled connections, the counters (app/counter_carry.h) and
// health state (HealthMonitor::inheritFrom) all follow a server by this one
// rule, so a server keeps its pool, its counts and its health together
// (its pool only while its upstream's TLS settings stay: sameOrigination).
#pragma once

#include "config/schema.h"

namespace fulcrum::config {

inline bool sameServer(const UpstreamConfig& a, const ServerConfig& server_in_a,
                       const UpstreamConfig& b, const ServerConfig& server_in_b) {
  return a.name == b.name && server_in_a.address_text == server_in_b.address_text;
}

// Whether connections to the servers of `a` are made as `b` would make
// them (TLS or not, the same CA, verification, name and client
// certificate): a pooled connection crosses a reload only then, while
// counts and health follow the server whatever its TLS settings.
inline bool sameOrigination(const UpstreamConfig& a, const UpstreamConfig& b) {
  return a.tls.enabled == b.tls.enabled && a.tls.settings == b.tls.settings &&
         a.tls.server_name == b.tls.server_name;
}

}  // namespace fulcrum::config
