#include "app/runtime.h"

#include <fstream>
#include "balance/registry.h"
#include "config/tls_loader.h"
#include "core/log.h"
#include "ledger/memory_store.h"
#include "net/listen_socket.h"

namespace fulcrum::app {
namespace {

std::shared_ptr<const http::IdempotencySettings> idempotencySettings(
    const config::RouteIdempotencyConfig& spec, const config::IdempotencyStoreConfig& store_spec) {
  auto settings = std::make_shared<http::IdempotencySettings>();
  settings->header = spec.header;
  settings->methods = spec.methods;
  settings->require_key = spec.require_key;
  settings->scope_header = spec.scope_header;
  settings->ttl = spec.ttl;
  settings->in_flight_timeout = spec.in_flight_timeout;
  settings->max_response = spec.max_response;
  settings->forward_on_store_error = spec.forward_on_store_error;
  settings->hold_unknown = spec.hold_unknown;
  settings->key_prefix = store_spec.key_prefix;
  return settings;
}

// The Redis password: the file's first line.
bool readPassword(const std::string& path, std::string& password, std::string& why) {
  std::ifstream in(path);
  if (!in || !std::getline(in, password) || password.empty()) {
    why = "idempotency_store.password_file: cannot read a password from " + path;
    return false;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return true;
}

}  // namespace

namespace {

std::shared_ptr<tls::TicketKeys> previousTicketKeys(const Runtime* previous,
                                                    const std::string& listener) {
  if (previous == nullptr) return nullptr;
  for (const ListenerRuntime& before : previous->listeners())
    if (before.name == listener) return before.ticket_keys;
  return nullptr;
}

// A listener's sessions resume on that listener only, and only while its
// client verification is the same: a session made without a client
// certificate never resumes where one is required.
std::string sessionContext(const std::string& listener, const tls::ServerSettings& settings) {
  return listener + '\n' + std::to_string(static_cast<int>(settings.client_verify)) + '\n' +
         (settings.client_verify == tls::ClientVerify::Off ? std::string() : settings.client_ca);
}

}  // namespace

std::shared_ptr<const Runtime> Runtime::build(config::Config config, std::string& why,
                                              const Runtime* previous) {
  std::shared_ptr<Runtime> runtime(new Runtime());
  if (previous != nullptr) runtime->generation_ = previous->generation_ + 1;
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
    built.strategy = balance::findStrategy(spec.balance);
    built.connect_timeout = spec.connect_timeout;
    built.response_timeout = spec.response_timeout;
    built.keepalive_max_idle = spec.keepalive_max_idle.value_or(upstream::kNoIdleCap);
    built.response_head_limit = spec.response_head_limit;
    built.max_interim_responses = spec.max_interim_responses;
    built.keepalive_idle_timeout = spec.keepalive_idle_timeout;
    built.hash_key = spec.hash_key;
    built.proxy_protocol = spec.proxy_protocol;
    built.retries = spec.retries;
    if (built.retries.per_try_timeout.count() == 0)
      built.retries.per_try_timeout = spec.response_timeout;
    if (spec.circuit_breaker.enabled) {
      const config::CircuitBreakerConfig& limits = spec.circuit_breaker;
      const upstream::Upstream* before = previous ? previous->findUpstream(spec.name) : nullptr;
      const config::UpstreamConfig* before_spec =
          previous ? previous->config().findUpstream(spec.name) : nullptr;
      if (before != nullptr && before->breaker && before_spec != nullptr &&
          before_spec->circuit_breaker.max_connections == limits.max_connections &&
          before_spec->circuit_breaker.max_pending == limits.max_pending &&
          before_spec->circuit_breaker.max_requests == limits.max_requests &&
          before_spec->circuit_breaker.pending_timeout == limits.pending_timeout)
        built.breaker = before->breaker;
      else
        built.breaker = std::make_shared<upstream::CircuitBreaker>(
            upstream::BreakerLimits{limits.max_connections, limits.max_pending, limits.max_requests,
                                    limits.pending_timeout});
    }
    built.strategy_options.ring_points_per_weight = spec.ring_points_per_weight;
    built.strategy_options.maglev_table_size = spec.maglev_table_size;
    if (spec.tls.enabled) {
      tls::LoadFailure failure;
      built.tls = tls::ClientContext::load(spec.tls.settings, failure);
      if (!built.tls) {
        why = "upstream " + spec.name + ": " + failure.text;
        return nullptr;
      }
    }
    for (const auto& server : spec.servers) {
      built.servers.push_back(upstream::Server{
          server.label(), server.address, server.weight, server.backup,
          static_cast<uint32_t>(built.servers.size()),
          spec.tls.enabled ? config::serverTlsName(spec.tls, server) : std::string()});
    }
    runtime->upstreams_.push_back(std::move(built));
    upstream::Upstream& placed = runtime->upstreams_.back();
    // Host sets point at the servers where they now live.
    // A checked server that starts down gets traffic only once its first
    // check passes (the health monitor publishes it then).
    const bool start_down = spec.health_check.enabled && !spec.health_check.initial_up;
    for (const auto& server : placed.servers) {
      if (server.weight == 0 || start_down) continue;  // weight 0: drained, no new picks
      (server.backup ? placed.backups : placed.primaries).add(&server, server.weight);
    }
    if (const auto& build_table = placed.strategy->table_builder) {
      placed.primaries.table = build_table(placed.primaries, placed.strategy_options);
      placed.backups.table = build_table(placed.backups, placed.strategy_options);
    }
  }
  if (!runtime->buildIdempotencyStore(config, previous, why)) return nullptr;
  for (const auto& spec : config.listeners) {
    ListenerRuntime listener;
    listener.name = spec.name;
    listener.address = spec.address;
    listener.protocol = spec.protocol;
    listener.idle_timeout = spec.idle_timeout;
    listener.backlog = spec.backlog;
    if (spec.tls.enabled) {
      tls::ServerSettings settings = spec.tls.settings;
      settings.alpn_http11 = spec.protocol == config::Protocol::Http;
      listener.ticket_keys = previousTicketKeys(previous, spec.name);
      if (!listener.ticket_keys) listener.ticket_keys = std::make_shared<tls::TicketKeys>();
      settings.ticket_keys = listener.ticket_keys;
      settings.session_context = sessionContext(spec.name, settings);
      tls::LoadFailure failure;
      listener.tls = tls::ServerContext::load(settings, failure);
      if (!listener.tls) {
        why = "listener " + spec.name + ": " + failure.text;
        return nullptr;
      }
      listener.handshake_timeout = spec.tls.handshake_timeout;
      listener.terminates_tls = true;
      listener.verifies_client_certs = settings.client_verify != tls::ClientVerify::Off;
    }
    listener.upstream = runtime->findUpstream(spec.upstream);
    listener.client_header_timeout = spec.client_header_timeout;
    listener.client_idle_timeout = spec.client_idle_timeout;
    listener.client_body_timeout = spec.client_body_timeout;
    listener.client_body_total_timeout = spec.client_body_total_timeout;
    listener.client_send_timeout = spec.client_send_timeout;
    listener.upstream_send_timeout = spec.upstream_send_timeout;
    listener.request_timeout = spec.request_timeout;
    listener.limits.max_request_line = spec.limits.request_line;
    listener.limits.max_head_bytes = spec.limits.headers;
    listener.limits.max_fields = spec.limits.header_count;
    listener.max_body = spec.limits.body;
    listener.normalize_path = spec.normalize_path;
    listener.defer_accept = spec.defer_accept;
    listener.trusted_proxies = spec.trusted_proxies;
    listener.trust_client_request_id = spec.trust_client_request_id;
    listener.proxy_protocol = spec.proxy_protocol;
    listener.proxy_header_timeout = spec.proxy_header_timeout;
    for (const auto& route_spec : spec.routes) {
      http::Route route;
      route.host_wildcard = route_spec.host.rfind("*.", 0) == 0;
      route.host = route.host_wildcard ? route_spec.host.substr(1) : route_spec.host;
      route.path_prefix = route_spec.path_prefix;
      route.upstream = runtime->findUpstream(route_spec.upstream);
      route.allow_trace = route_spec.allow_trace;
      if (route_spec.idempotency.enabled)
        route.idempotency =
            idempotencySettings(route_spec.idempotency, config.global.idempotency_store);
      listener.routes.push_back(std::move(route));
    }
    if (listener.protocol == config::Protocol::Http && listener.upstream != nullptr) {
      http::Route catch_all;
      catch_all.upstream = listener.upstream;
      listener.routes.push_back(std::move(catch_all));
    }
    listener.sends_proxy_header = listener.upstream && listener.upstream->proxy_protocol;
    for (const http::Route& route : listener.routes)
      if (route.upstream != nullptr && route.upstream->proxy_protocol)
        listener.sends_proxy_header = true;
    runtime->listeners_.push_back(std::move(listener));
  }
  runtime->config_ = std::move(config);
  return runtime;
}

bool Runtime::buildIdempotencyStore(const config::Config& config, const Runtime* previous,
                                    std::string& why) {
  bool used = false;
  for (const auto& listener : config.listeners)
    for (const auto& route : listener.routes) used = used || route.idempotency.enabled;
  if (!used) return true;
  const config::IdempotencyStoreConfig& spec = config.global.idempotency_store;
  if (spec.type == config::StoreType::Redis) {
    // Each worker connects on its own loop (WorkerGeneration).
    ledger::RedisSettings redis;
    redis.unix_path = spec.unix_path;
    if (redis.unix_path.empty()) {
      redis.host = spec.address.hostToString();
      redis.port = spec.address.port();
    }
    redis.timeout = spec.timeout;
    if (!spec.password_file.empty() && !readPassword(spec.password_file, redis.password, why))
      return false;
    redis_settings_ = std::move(redis);
    return true;
  }
  // A reload with the same store settings keeps the ledger: the answers
  // it holds stay valid across generations.
  if (previous != nullptr && previous->idempotency_store_ &&
      previous->config().global.idempotency_store == spec) {
    idempotency_store_ = previous->idempotency_store_;
    return true;
  }
  idempotency_store_ = std::make_shared<ledger::MemoryStore>(
      ledger::MemoryStoreLimits{spec.max_entries, spec.max_memory});
  return true;
}

const upstream::Upstream* Runtime::findUpstream(const std::string& name) const {
  for (const auto& built : upstreams_)
    if (built.name == name) return &built;
  return nullptr;
}

void applyDeferAccept(const ListenerRuntime& listener, int fd) {
  if (!net::deferAcceptUntilData(fd, listener.defer_accept) && listener.defer_accept)
    log::warn("listener %s: defer_accept: the socket refused TCP_DEFER_ACCEPT",
              listener.name.c_str());
}

}  // namespace fulcrum::app
