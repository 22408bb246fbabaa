// One built config generation: upstreams with their servers and strategy
// factories, and listeners pointing at them. Built only from a validated
// Config; immutable and shared by every worker as shared_ptr<const Runtime>.
// A connection keeps the generation it started with until it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.h"
#include "core/access_log.h"
#include "http/listener_settings.h"
#include "ledger/redis_store.h"
#include "ledger/store.h"
#include "tls/server_context.h"
#include "upstream/upstream.h"

namespace fulcrum::app {

// A listener of this generation: what its sessions read (the base), and
// what the worker needs to listen.
struct ListenerRuntime : http::ListenerSettings {
  SocketAddress address;  // as configured (port may be 0 until bound)
  config::Protocol protocol = config::Protocol::Tcp;
  const upstream::Upstream* upstream = nullptr;  // tcp: points into the same Runtime
  unsigned backlog = 511;
  // TLS termination (null: plain). Loaded from the files at build, so a
  // reload re-reads renewed certificates; connections keep the old ones.
  std::shared_ptr<const tls::ServerContext> tls;
  // Kept from the previous generation's listener of the same name, so a
  // reload keeps every client's session ticket valid.
  std::shared_ptr<tls::TicketKeys> ticket_keys;
  std::chrono::milliseconds handshake_timeout{0};
  config::ProxyAccept proxy_protocol = config::ProxyAccept::Off;
  std::chrono::milliseconds proxy_header_timeout{5000};
  // Some upstream it sends to writes PROXY headers: its sessions need the
  // address each client connected to.
  bool sends_proxy_header = false;
};

// Sets `listener`'s defer_accept on its listening socket `fd`; a refusal is
// logged (the listener works without it). Where sockets are made, before
// any worker accepts, and on the sockets a reload keeps.
void applyDeferAccept(const ListenerRuntime& listener, int fd);

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
  // The ledger every route's idempotency block shares; null when no route
  // has one.
  // The memory one; null with a Redis store, which each worker reaches
  // through its own connection, made from redisSettings().
  const std::shared_ptr<ledger::Store>& idempotencyStore() const { return idempotency_store_; }
  const std::optional<ledger::RedisSettings>& redisSettings() const { return redis_settings_; }

 private:
  Runtime() = default;
  bool buildIdempotencyStore(const config::Config& config, const Runtime* previous,
                             std::string& why);

  uint64_t generation_ = 1;
  config::Config config_;
  std::vector<upstream::Upstream> upstreams_;
  std::vector<ListenerRuntime> listeners_;
  std::unique_ptr<AccessLog> access_log_;
  std::shared_ptr<ledger::Store> idempotency_store_;
  std::optional<ledger::RedisSettings> redis_settings_;
};

}  // namespace fulcrum::app
