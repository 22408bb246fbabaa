// An upstream as one config generation built it: its servers and how to
// balance them. Immutable and shared by every worker; per-worker pick state
// lives in UpstreamPicker.
#pragma once

#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/hash_key.h"
#include "config/schema.h"
#include "tls/client_context.h"
#include "upstream/circuit_breaker.h"
#include "upstream/host_set.h"
#include "upstream/server.h"
#include "upstream/strategy.h"

namespace fulcrum::upstream {

// keepalive_max_idle when none is written: idle connections are closed by
// their idle timeout only.
inline constexpr unsigned kNoIdleCap = std::numeric_limits<unsigned>::max();

struct Upstream {
  std::string name;
  std::vector<Server> servers;
  const StrategyInfo* strategy = nullptr;  // from the registry; never null once built
  StrategyOptions strategy_options;
  config::HashKey hash_key;  // what hash strategies hash; Kind::None otherwise
  // Every server with weight > 0, as the workers start with (and, for hash
  // strategies, their table, built once here and shared).
  HostSet primaries;
  HostSet backups;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{30000};  // HTTP only
  unsigned keepalive_max_idle = kNoIdleCap;           // HTTP: per server, per worker
  uint64_t response_head_limit = 64 * 1024;           // HTTP: bytes of a response head
  unsigned max_interim_responses = 8;                 // HTTP: 1xx heads per request
  std::chrono::milliseconds keepalive_idle_timeout{60000};
  // Shared by every worker (its counts are atomics); null when the upstream
  // has no circuit_breaker. The pointer is fixed; the counts are not.
  std::shared_ptr<upstream::CircuitBreaker> breaker;
  // HTTP: money-safe retries; per_try_timeout is already resolved (never 0).
  config::RetryConfig retries;
  // Every new connection to a server opens with a PROXY header naming the
  // client (TCP, HTTP) or with a LOCAL one (health checks); unset: none.
  std::optional<net::ProxyVersion> proxy_protocol;
  // TLS to the servers (null: plain TCP), loaded with the generation and
  // shared by its workers and health checks.
  std::shared_ptr<const tls::ClientContext> tls;
};

}  // namespace fulcrum::upstream
