#include "config/validate.h"

#include <ctime>
#include <map>
#include <set>

#include "config/hash_key.h"
#include "config/tls_check.h"
#include "config/tls_loader.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

std::string listenerPath(size_t index) {
  return "listeners[" + std::to_string(index) + "]";
}

// Two listen addresses collide when they share a family and port and either
// is the any-address or both are the same. Port 0 asks the kernel for a free
// port, so it never collides. (IPv6 listeners are IPv6-only.)
bool overlaps(const SocketAddress& a, const SocketAddress& b) {
  if (a.length() == 0 || b.length() == 0 || a.port() == 0 || a.family() != b.family() ||
      a.port() != b.port())
    return false;
  return a.isAny() || b.isAny() || a == b;
}

void validateTcpListener(const ListenerConfig& listener, const std::string& path,
                         Diagnostics& diag) {
  if (listener.upstream.empty() && listener.upstream_mark.line == 0)
    diag.error(listener.mark, path + ".upstream", "a tcp listener needs an upstream");
  if (listener.http_only_mark.line != 0)
    diag.error(listener.http_only_mark, listener.http_only_key,
               "applies to http listeners only (this listener is tcp)");
}

void validateTrust(const ListenerConfig& listener, const std::string& path, Diagnostics& diag) {
  if (listener.proxy_protocol != ProxyAccept::Off && listener.trusted_proxies.empty())
    diag.error(listener.proxy_protocol_mark, path + ".proxy_protocol",
               "needs trusted_proxies: a PROXY header is believed only from the peers listed "
               "there");
  if (listener.protocol == Protocol::Tcp && listener.proxy_protocol == ProxyAccept::Off &&
      listener.trusted_proxies_mark.line != 0)
    diag.error(listener.trusted_proxies_mark, path + ".trusted_proxies",
               "on a tcp listener it only says whose PROXY header to read: set proxy_protocol");
  // The PROXY header comes before the ClientHello, in clear; this version
  // runs the handshake first, so the two cannot share a listener yet.
  if (listener.proxy_protocol != ProxyAccept::Off && listener.tls.enabled)
    diag.error(listener.proxy_protocol_mark, path + ".proxy_protocol",
               "not supported yet together with tls on the same listener");
}

void validateHttpListener(const Config& config, const ListenerConfig& listener,
                          const std::string& path, Diagnostics& diag) {
  if (listener.routes.empty() && listener.upstream.empty() && listener.upstream_mark.line == 0)
    diag.error(listener.mark, path + ".routes", "an http listener needs routes or an upstream");
  const RouteConfig* catch_all = nullptr;
  for (size_t i = 0; i < listener.routes.size(); ++i) {
    const RouteConfig& route = listener.routes[i];
    std::string route_path = path + ".routes[" + std::to_string(i) + "]";
    if (catch_all != nullptr) {
      diag.error(route.mark, route_path,
                 "unreachable: an earlier route without match takes every request");
    }
    if (route.isCatchAll() && catch_all == nullptr) catch_all = &route;
    if (!route.upstream.empty() && config.findUpstream(route.upstream) == nullptr)
      diag.error(route.upstream_mark, route_path + ".upstream",
                 "no upstream named '" + route.upstream + "' is defined");
  }
  if (catch_all != nullptr && !listener.upstream.empty())
    diag.error(listener.upstream_mark, path + ".upstream",
               "unreachable: a route without match already takes every request");
  if (listener.limits.request_line > listener.limits.headers)
    diag.error(listener.limits_mark, path + ".limits.request_line",
               "cannot be larger than limits.headers (the whole head)");
}

void validateListeners(const Config& config, Diagnostics& diag) {
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    std::string path = listenerPath(i);
    if (!listener.name.empty()) {
      auto [it, fresh] = names.emplace(listener.name, i);
      if (!fresh)
        diag.error(listener.mark, path + ".name",
                   "duplicate listener name '" + listener.name + "' (first used by " +
                       listenerPath(it->second) + ")");
    }
    for (size_t j = 0; j < i; ++j) {
      if (!overlaps(listener.address, config.listeners[j].address)) continue;
      diag.error(listener.listen_mark, path + ".listen",
                 "address " + listener.address.toString() + " overlaps " + listenerPath(j) + " (" +
                     config.listeners[j].address.toString() + ")");
      break;
    }
    if (overlaps(listener.address, config.global.admin.listen))
      diag.error(listener.listen_mark, path + ".listen",
                 "address " + listener.address.toString() + " overlaps the admin listener (" +
                     config.global.admin.listen.toString() + ")");
    const UpstreamConfig* target = config.findUpstream(listener.upstream);
    if (!listener.upstream.empty() && target == nullptr)
      diag.error(listener.upstream_mark, path + ".upstream",
                 "no upstream named '" + listener.upstream + "' is defined");
    using Kind = config::HashKey::Kind;
    if (target != nullptr && listener.protocol == Protocol::Tcp &&
        target->hash_key.kind != Kind::None && target->hash_key.kind != Kind::SourceIp)
      diag.error(listener.upstream_mark, path + ".upstream",
                 "upstream '" + target->name + "' hashes on " + target->hash_key.describe() +
                     ", which a tcp listener cannot provide (use hash_key: source_ip)");
    validateTrust(listener, path, diag);
    if (listener.protocol == Protocol::Tcp)
      validateTcpListener(listener, path, diag);
    else
      validateHttpListener(config, listener, path, diag);
  }
}

void validateHealth(const UpstreamConfig& upstream, const StrategyName* strategy,
                    const std::string& path, Diagnostics& diag) {
  const HealthCheckConfig& check = upstream.health_check;
  if (check.type != CheckType::Http)
    for (const auto& [mark, key] : check.http_only_keys)
      diag.error(mark, key, "only for type: http");
  if (check.type != CheckType::Tls)
    for (const auto& [mark, key] : check.tls_only_keys) diag.error(mark, key, "only for type: tls");
  if (check.type == CheckType::Http && check.method == "HEAD" && !check.expect_body.empty())
    diag.error(check.mark, path + ".health_check.expect_body",
               "a HEAD response has no body; use method: GET");
  const OutlierConfig& outlier = upstream.outlier;
  if (outlier.enabled && outlier.max_ejection < outlier.base_ejection)
    diag.error(
        outlier.mark, path + ".outlier_detection.max_ejection",
        "cannot be shorter than base_ejection (" + formatDuration(outlier.base_ejection) + ")");
  const RetryConfig& retries = upstream.retries;
  if (retries.backoff_base > retries.backoff_max)
    diag.error(retries.mark, path + ".retries.backoff.base",
               "cannot be longer than backoff.max (" + formatDuration(retries.backoff_max) + ")");
  if (upstream.slow_start.count() == 0 || strategy == nullptr) return;
  if (strategy->uses_hash)
    diag.error(upstream.slow_start_mark, path + ".slow_start",
               "not for '" + upstream.balance +
                   "': a hash strategy keeps keys on their servers, so weights do not ramp");
  else if (upstream.balance == "round_robin")
    diag.error(upstream.slow_start_mark, path + ".slow_start",
               "round_robin ignores weights; use weighted_round_robin, least_conn, least_time, "
               "random or p2c");
}

const StrategyName* findStrategy(const StrategyNames& strategies, const std::string& name) {
  for (const auto& strategy : strategies)
    if (strategy.name == name) return &strategy;
  return nullptr;
}

std::string listNames(const StrategyNames& strategies) {
  std::string out;
  for (const auto& strategy : strategies) {
    if (!out.empty()) out += ", ";
    out += strategy.name;
  }
  return out;
}

void validateUpstream(const UpstreamConfig& upstream, const StrategyNames& strategies,
                      Diagnostics& diag) {
  std::string path = "upstreams." + upstream.name;
  const StrategyName* strategy = findStrategy(strategies, upstream.balance);
  if (strategy == nullptr)
    diag.error(
        upstream.balance_mark, path + ".balance",
        "unknown strategy '" + upstream.balance + "' (valid: " + listNames(strategies) + ")");
  bool hashes = strategy != nullptr && strategy->uses_hash;
  if (hashes && upstream.hash_key.kind == config::HashKey::Kind::None)
    diag.error(
        upstream.balance_mark, path + ".balance",
        "'" + upstream.balance +
            "' needs a hash_key (source_ip, header:NAME, cookie:NAME, uri or uri_with_query)");
  if (strategy != nullptr && !hashes && upstream.hash_key.kind != config::HashKey::Kind::None)
    diag.error(upstream.hash_key_mark, path + ".hash_key",
               "used only by ring_hash and maglev (balance is '" + upstream.balance + "')");
  validateHealth(upstream, strategy, path, diag);
  for (const auto& [mark, key] : upstream.hash_options) {
    if (key == path + "." + upstream.balance) continue;
    diag.error(mark, key,
               "applies to balance: " + key.substr(key.rfind('.') + 1) + " only (balance is '" +
                   upstream.balance + "')");
  }
  if (upstream.servers.empty() && upstream.discovery.empty()) {
    diag.error(upstream.mark, path + ".servers", "an upstream needs at least one server");
    return;
  }
  std::set<std::string> names;
  for (const DiscoveryConfig& entry : upstream.discovery) {
    if (!entry.name.empty() && !names.insert(entry.key()).second)
      diag.error(entry.mark, path + ".servers", "duplicate entry " + entry.key());
    // An address found through DNS names no host to verify.
    if (upstream.tls.enabled && upstream.tls.settings.verify && upstream.tls.server_name.empty())
      diag.error(entry.mark, path + ".servers",
                 "servers from DNS name no host for TLS to verify the certificate against: write "
                 "tls.server_name");
  }
  std::map<std::string, size_t> addresses;
  std::map<std::string, size_t> labels;
  for (size_t i = 0; i < upstream.servers.size(); ++i) {
    const ServerConfig& server = upstream.servers[i];
    std::string server_path = path + ".servers[" + std::to_string(i) + "]";
    if (server.address.length() == 0) continue;  // already reported by the loader
    if (server.address.port() == 0)
      diag.error(server.mark, server_path + ".address", "a server needs a port other than 0");
    if (upstream.tls.enabled && upstream.tls.settings.verify &&
        serverTlsName(upstream.tls, server).empty())
      diag.error(server.mark, server_path + ".address",
                 "names no host for TLS to verify the certificate against: write "
                 "tls.server_name");
    auto [it, fresh] = addresses.emplace(server.address.toString(), i);
    if (!fresh)
      diag.error(server.mark, server_path + ".address",
                 "duplicate server " + server.address.toString() + " (also servers[" +
                     std::to_string(it->second) + "])");
    else if (!labels.emplace(server.label(), i).second)
      diag.error(server.mark, server_path + ".name",
                 "duplicate server name '" + server.label() + "'");
  }
}

}  // namespace

void validate(const Config& config, const StrategyNames& strategies, Diagnostics& diag) {
  validateListeners(config, diag);
  for (const auto& upstream : config.upstreams) validateUpstream(upstream, strategies, diag);
  checkTlsFiles(config, diag, std::time(nullptr));
}

}  // namespace fulcrum::config
