#include "metrics/families.h"

#include <array>

namespace fulcrum::metrics {
namespace {

using prometheus::MetricType;

constexpr std::array<FamilyInfo, static_cast<size_t>(Family::Count)> kFamilies = {{
    {"fulcrum_build_info", MetricType::Gauge,
     "Always 1; the version label says which build, the started label when this "
     "process started (UTC, ms)."},
    {"fulcrum_config_reloads_total", MetricType::Counter, "Configuration reloads, by result."},
    {"fulcrum_config_last_reload_successful", MetricType::Gauge,
     "1 when the running configuration is the last one asked for, 0 after a failed reload."},
    {"fulcrum_config_generation", MetricType::Gauge,
     "The running configuration generation: 1 at start, one more per successful reload."},
    {"fulcrum_worker_config_generation", MetricType::Gauge,
     "The configuration generation each worker runs; below fulcrum_config_generation only "
     "while a reload reaches the workers."},
    {"fulcrum_worker_host_set_updates_total", MetricType::Counter,
     "Health publications (new sets of usable servers) each worker has applied."},
    {"fulcrum_downstream_connections_active", MetricType::Gauge, "Client connections open."},
    {"fulcrum_downstream_connections_total", MetricType::Counter, "Client connections accepted."},
    {"fulcrum_proxy_protocol_rejected_total", MetricType::Counter,
     "Client connections closed for their PROXY header: from a peer not in trusted_proxies "
     "(untrusted), without one (missing), malformed, or not whole in time (timeout)."},
    {"fulcrum_http_requests_total", MetricType::Counter,
     "HTTP requests answered, by the status sent to the client (upstream is empty when no "
     "route matched)."},
    {"fulcrum_upstream_requests_total", MetricType::Counter,
     "Responses received from servers, by status."},
    {"fulcrum_upstream_response_seconds", MetricType::Histogram,
     "Time from sending a request to a server to its response head."},
    {"fulcrum_upstream_connect_failures_total", MetricType::Counter,
     "Connects to a server that failed or timed out."},
    {"fulcrum_upstream_connections_opened_total", MetricType::Counter,
     "Connections to a server opened for traffic (not health checks): a kept-alive pool "
     "that serves a steady load opens none after its warm-up."},
    {"fulcrum_upstream_server_up", MetricType::Gauge,
     "1 when the server takes new requests (check up, not ejected, not drained, weight > 0)."},
    {"fulcrum_upstream_server_active_requests", MetricType::Gauge,
     "Requests (HTTP) or connections (TCP) in flight to the server."},
    {"fulcrum_upstream_healthy_servers", MetricType::Gauge, "Servers of the upstream that are up."},
    {"fulcrum_upstream_servers", MetricType::Gauge, "Servers configured in the upstream."},
    {"fulcrum_upstream_panic", MetricType::Gauge,
     "1 while fewer primaries than panic_threshold are usable and all of them take requests."},
    {"fulcrum_health_checks_total", MetricType::Counter, "Active health probes, by result."},
    {"fulcrum_outlier_ejections_total", MetricType::Counter,
     "Servers ejected by outlier detection, by the threshold crossed."},
    {"fulcrum_circuit_breaker_rejections_total", MetricType::Counter,
     "Requests or connections refused by the circuit breaker, by limit."},
    {"fulcrum_retries_total", MetricType::Counter, "Requests sent again, by reason."},
    {"fulcrum_retries_refused_total", MetricType::Counter,
     "Retries not made because they were unsafe or over budget, by reason."},
    {"fulcrum_upstream_bytes_total", MetricType::Counter,
     "Bytes sent to (request bodies, TCP) and received from (responses, TCP) the servers."},
    {"fulcrum_picks_without_hash_key_total", MetricType::Counter,
     "Requests to a ring_hash or maglev upstream without the hash key (sent round robin)."},
    {"fulcrum_max_connections", MetricType::Gauge,
     "The limit on client connections of the whole process (global.max_connections)."},
    {"fulcrum_downstream_connections_limited_total", MetricType::Counter,
     "Client connections that waited in the listen backlog because max_connections was "
     "reached, counted when accepted."},
    {"fulcrum_local_resource_errors_total", MetricType::Counter,
     "Operations that failed for want of fulcrum's own resources (descriptors, buffers, memory, "
     "local ports), by where and errno; never counted against a server."},
    {"fulcrum_access_log_dropped_total", MetricType::Counter,
     "Access log lines not written: the log's queue was full (its disk or reader too slow) or "
     "a write failed."},
    {"fulcrum_admin_requests_refused_total", MetricType::Counter,
     "Admin requests refused, by reason: host (not the listener's name), disabled (/api without "
     "global.admin.token), cross_origin (a browser's cross-site call), token (missing or "
     "wrong), content_type (not application/json)."},
    {"fulcrum_tls_handshakes_total", MetricType::Counter,
     "TLS handshakes on a listener, by result: ok, or why it failed (timeout, peer_closed, "
     "not_tls, protocol_version, no_shared_cipher, client_certificate, server_certificate, "
     "other)."},
    {"fulcrum_tls_certificate_expiry_timestamp_seconds", MetricType::Gauge,
     "When each loaded certificate expires (its notAfter, Unix seconds), by scope "
     "(listener:NAME) and name (the subject's common name)."},
    {"fulcrum_idempotency_requests_total", MetricType::Counter,
     "Requests of a watched method on routes with an idempotency ledger, by result: first "
     "(claimed and forwarded), replayed (the kept answer), conflict (409: in flight or not "
     "kept), mismatch (422), missing_key (400, or forwarded unguarded without require_key), "
     "store_error (503, or forwarded with on_store_error: forward), unknown_held (409: outcome "
     "unknown)."},
    {"fulcrum_idempotency_entries", MetricType::Gauge,
     "Entries in the memory idempotency ledger: claims in flight and kept answers."},
    {"fulcrum_idempotency_store_seconds", MetricType::Histogram,
     "How long the idempotency ledger's store took to answer, by operation: claim (what a keyed "
     "request waited, a timeout included), settle and release (a Redis round trip, or the memory "
     "store's call)."},
    {"fulcrum_dns_resolutions_total", MetricType::Counter,
     "DNS lookups of an upstream's servers (dns: and srv:), by result: success, not_found "
     "(NXDOMAIN or no record: the last servers stay), failure (timeout, refused, server "
     "failure: the last servers stay)."},
}};

}  // namespace

const FamilyInfo& info(Family family) {
  return kFamilies[static_cast<size_t>(family)];
}

}  // namespace fulcrum::metrics
