// Typed config: what the loader produces from YAML and the validator checks.
// Plain values, no behaviour. Every field that an error may point at keeps
// the Mark of where it was written. Defaults here are the documented ones
// (man/fulcrum.yaml.5).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/hash_key.h"
#include "config/units.h"
#include "core/cidr.h"
#include "core/socket_address.h"
#include "net/proxy_protocol.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace fulcrum::config {

using namespace std::chrono_literals;

// 1-based position in the config file; 0 when unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

enum class Protocol { Tcp, Http };

// listeners[].proxy_protocol: whether connections open with a PROXY header.
enum class ProxyAccept {
  Off,       // never read one: the peer is the client
  Required,  // every connection comes from trusted_proxies and opens with one
  Optional,  // a trusted peer may send one; an untrusted peer that does is closed
};

enum class AccessLogTarget { Off, Stdout, File };

struct LogConfig {
  std::string level = "info";
  AccessLogTarget access = AccessLogTarget::Off;
  std::string access_path;  // when access == File
};

struct AdminConfig {
  std::string listen_text = "127.0.0.1:9901";
  SocketAddress listen;  // resolved by the loader
  Mark listen_mark;
  std::string token;  // empty: the /api is disabled
  Mark token_mark;
  // Names (or literals) the listener answers to besides its own address
  // and, on loopback, localhost: HostName texts (core/host_name.h).
  std::vector<std::string> hosts;
  bool protect_status = false;    // /status and /status.json need the token too
  unsigned max_connections = 64;  // open admin connections; accepting pauses at the cap
};

// global.idempotency_store: where route ledgers keep their entries.
enum class StoreType { Memory, Redis };

struct IdempotencyStoreConfig {
  StoreType type = StoreType::Memory;
  uint64_t max_entries = 1000000;              // memory
  uint64_t max_memory = 256ull * 1024 * 1024;  // memory, bytes
  std::string address_text;                    // redis: host:port or unix:/path
  SocketAddress address;                       // redis over TCP
  std::string unix_path;                       // redis over a Unix socket
  std::string password_file;                   // redis; resolved against the config's folder
  std::string key_prefix = "fulcrum:idem:";
  Duration timeout = 50ms;  // per store operation
  Mark mark;
  Mark type_mark;
  Mark address_mark;

  bool operator==(const IdempotencyStoreConfig& other) const {
    return type == other.type && max_entries == other.max_entries &&
           max_memory == other.max_memory && address_text == other.address_text &&
           password_file == other.password_file && key_prefix == other.key_prefix &&
           timeout == other.timeout;
  }
};

// routes[].idempotency: the route's ledger (present = on).
struct RouteIdempotencyConfig {
  bool enabled = false;
  std::string header = "Idempotency-Key";
  std::vector<std::string> methods{"POST", "PATCH"};
  bool require_key = false;
  std::string scope_header;  // scope: header:NAME; empty = none
  Duration ttl = 24h;
  Duration in_flight_timeout = 60s;
  uint64_t max_response = 64 * 1024;
  bool forward_on_store_error = false;  // on_store_error: forward | reject
  bool hold_unknown = true;             // on_unknown_outcome: hold | release
  Mark mark;
};

struct GlobalConfig {
  unsigned workers = 0;  // 0 = auto: one per core
  AdminConfig admin;
  LogConfig log;
  // SIGTERM: /healthz answers 503 at once, but listeners keep accepting
  // (and answer with Connection: close) for drain_grace first, so a VRRP
  // pair or a load balancer in front moves traffic before connects fail.
  Duration drain_grace = 0s;
  Duration drain_timeout = 30s;
  // Client connections of the whole process; 0 = derived from the open
  // files limit at startup (app/fd_budget.h).
  unsigned max_connections = 0;
  IdempotencyStoreConfig idempotency_store;
  // Unix socket path on which this process hands its listening sockets to
  // a new one (`fulcrum --takeover PATH`); empty: no takeover served.
  std::string takeover_socket;
  // global.resolvers: the DNS servers asked for servers from DNS (dns:,
  // srv:). Empty: those of /etc/resolv.conf, after /etc/hosts.
  std::vector<SocketAddress> resolvers;
};

struct ServerConfig {
  std::string address_text;  // as written; the metric/log label unless name is set
  std::string name;          // optional
  SocketAddress address;
  unsigned weight = 1;  // 0 = drained: no new picks
  bool backup = false;
  Mark mark;
  // A server found through DNS: the name it came from (shown on /status)
  // and the index of its entry in UpstreamConfig::discovery; -1 and empty
  // for a server written in the file.
  std::string dns_name;
  int discovery = -1;

  const std::string& label() const { return name.empty() ? address_text : name; }
};

// A servers[] entry that is a name: every address it resolves to becomes a
// server (discovery/, resolved on the control loop).
struct DiscoveryConfig {
  enum class Kind { Address, Srv };  // dns: (A and AAAA) or srv:
  Kind kind = Kind::Address;
  std::string name;        // the DNS name, lower-case, without a trailing dot
  uint16_t port = 0;       // dns: the port every address is served on
  Duration interval = 5s;  // resolve.interval; a shorter record TTL wins
  unsigned weight = 1;     // dns: each address's weight (srv: from the record)
  bool backup = false;     // dns: each address is a backup
  Mark mark;

  // "dns:NAME:PORT" or "srv:NAME": the entry across reloads.
  std::string key() const {
    return kind == Kind::Srv ? "srv:" + name : "dns:" + name + ":" + std::to_string(port);
  }
};

enum class CheckType { Tcp, Http, Tls };

struct StatusRange {
  unsigned low = 200;
  unsigned high = 399;
};

// upstreams.NAME.health_check (present = active checks on).
struct HealthCheckConfig {
  bool enabled = false;
  CheckType type = CheckType::Tcp;
  Duration interval = 2s;
  Duration fast_interval{0};  // 0 = interval
  Duration down_interval{0};  // 0 = interval
  Duration timeout = 1s;
  unsigned rise = 2;
  unsigned fall = 3;
  unsigned jitter_percent = 10;
  bool initial_up = false;
  uint16_t port = 0;  // 0 = the server's port
  std::string path = "/";
  std::string method = "GET";
  std::string host;  // empty = the server's address as written
  std::vector<StatusRange> expect_status{{200, 399}};
  std::string expect_body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string server_name;  // tls: SNI
  Mark mark;
  // Keys that only fit one type, where they were written, for the validator.
  std::vector<std::pair<Mark, std::string>> http_only_keys;
  std::vector<std::pair<Mark, std::string>> tls_only_keys;
};

// upstreams.NAME.outlier_detection: passive ejection. Without the block
// only connect failures eject, for a short, growing time, so a server that
// is gone leaves rotation on its own; a written block starts from
// written() and watches 5xx too. A count of 0 turns its rule off.
struct OutlierConfig {
  bool enabled = true;   // some rule has a count above 0
  bool written = false;  // the block is in the file
  unsigned consecutive_5xx = 0;
  unsigned consecutive_gateway_errors = 0;
  unsigned consecutive_connect_failures = 5;
  Duration interval = 10s;
  Duration base_ejection = 1s;
  Duration max_ejection = 4s;
  unsigned max_ejection_percent = 10;
  Mark mark;

  static OutlierConfig writtenDefaults() {
    OutlierConfig config;
    config.written = true;
    config.consecutive_5xx = 5;
    config.base_ejection = 30s;
    config.max_ejection = 300s;
    return config;
  }
};

// upstreams.NAME.circuit_breaker (present = limits on).
struct CircuitBreakerConfig {
  bool enabled = false;
  unsigned max_connections = 1024;
  unsigned max_pending = 1024;
  unsigned max_requests = 1024;
  Duration pending_timeout = 1s;
};

// What a retry may follow (retries.on).
enum RetryOn : unsigned {
  kRetryConnectFailure = 1u << 0,
  kRetryReset = 1u << 1,
  kRetryTimeout = 1u << 2,
  kRetry502 = 1u << 3,
  kRetry503 = 1u << 4,
  kRetry504 = 1u << 5,
  kRetryAll = (1u << 6) - 1,
};

// upstreams.NAME.retries: money-safe retries (DESIGN.md section 7). The
// defaults apply to every HTTP upstream, written or not.
struct RetryConfig {
  unsigned attempts = 2;  // tries in all, the first included
  unsigned budget_percent = 20;
  unsigned budget_min_per_second = 10;
  unsigned on = kRetryAll;
  bool keyed_non_idempotent = true;  // non_idempotent: if_idempotency_key (false: never)
  std::string idempotency_header = "Idempotency-Key";
  uint64_t retry_buffer = 64 * 1024;
  Duration per_try_timeout{0};  // 0 = timeouts.response
  Duration backoff_base = 10ms;
  Duration backoff_max = 100ms;
  Duration reuse_safe_window = 2s;
  bool attempts_header = true;
  Mark mark;
  // Where these were written (line 0: not written), for warnings.
  Mark budget_percent_mark;
  Mark per_try_timeout_mark;
  Mark reuse_safe_window_mark;
};

// upstreams.NAME.tls: TLS to the servers (origination). `settings` holds
// the file paths as resolved against the config file's folder; the marks
// say where each key was written, for errors found when the files are read.
struct UpstreamTlsConfig {
  bool enabled = false;
  tls::ClientSettings settings;
  std::string server_name;  // SNI and the verified name; empty = each server's host
  Mark mark;
  Mark ca_mark;
  Mark verify_mark;
  Mark certificate_mark;
  Mark key_mark;
  Mark server_name_mark;
};

struct UpstreamConfig {
  std::string name;
  std::string balance = "round_robin";
  std::vector<ServerConfig> servers;
  std::vector<DiscoveryConfig> discovery;  // servers[] entries that are names
  Duration connect_timeout = 5s;
  // HTTP: from the end of the request to the response head, then between
  // two reads of the response (not while the client is slow to read it).
  Duration response_timeout = 30s;
  // HTTP: idle connections kept per server in each worker. None: no count
  // cap, as HAProxy's pools: what the recent peak load needed stays until
  // keepalive_idle_timeout closes it.
  std::optional<unsigned> keepalive_max_idle;
  Duration keepalive_idle_timeout = 60s;
  Mark keepalive_idle_timeout_mark;       // line 0: not written
  config::HashKey hash_key;               // ring_hash / maglev
  unsigned ring_points_per_weight = 160;  // ring_hash
  uint32_t maglev_table_size = 65537;     // maglev; a prime
  // A PROXY header opens every connection to a server (off when unset).
  std::optional<net::ProxyVersion> proxy_protocol;
  UpstreamTlsConfig tls;
  Mark mark;
  Mark balance_mark;
  Mark hash_key_mark;
  // Where ring_hash: / maglev: option blocks were written, by key path.
  std::vector<std::pair<Mark, std::string>> hash_options;
  HealthCheckConfig health_check;
  RetryConfig retries;
  OutlierConfig outlier;
  CircuitBreakerConfig circuit_breaker;
  Duration slow_start{0};  // 0 = off
  Mark slow_start_mark;
  // Percent of the primaries that must be usable; below it (and with no
  // backup usable) every primary takes requests. 0 = off.
  unsigned panic_threshold = 0;
  // HTTP: what a server may send before its final response head.
  uint64_t response_head_limit = 64 * 1024;
  unsigned max_interim_responses = 8;  // 1xx heads per request
};

// One entry of an HTTP listener's routes: first match wins.
struct RouteConfig {
  std::string host;         // empty = any; exact name or "*.example.com"
  std::string path_prefix;  // empty = any; starts with '/'
  std::string upstream;
  bool allow_trace = false;  // TRACE reaches the upstream; else it gets 405
  RouteIdempotencyConfig idempotency;
  bool has_match = false;  // a `match:` was written (even if it was invalid)
  Mark mark;
  Mark upstream_mark;
  bool isCatchAll() const { return !has_match; }
};

struct HttpLimitsConfig {
  uint64_t request_line = 8 * 1024;
  uint64_t headers = 32 * 1024;  // the whole head
  unsigned header_count = 100;
  uint64_t body = 0;  // request body; 0 = no limit
};

// listeners[].tls: TLS termination. `settings` holds the file paths as
// resolved against the config file's folder; the marks say where each
// file and setting was written, for errors found when the files are read.
struct ListenerTlsConfig {
  bool enabled = false;
  tls::ServerSettings settings;
  std::vector<Mark> certificate_marks;  // parallel to settings.certificates
  std::vector<Mark> key_marks;
  Mark ciphers_mark;
  Mark client_ca_mark;
  Duration handshake_timeout = 10s;
  Mark mark;
};

struct ListenerConfig {
  std::string name;
  std::string listen_text;
  SocketAddress address;
  Protocol protocol = Protocol::Tcp;
  std::string upstream;                  // tcp: the upstream; http: the catch-all after routes
  std::vector<RouteConfig> routes;       // http only
  Duration idle_timeout = 1h;            // tcp connections and upgraded http tunnels
  Duration client_header_timeout = 10s;  // http: to receive a whole request head
  Duration client_idle_timeout = 60s;    // http: keep-alive wait between requests
  // http: the longest pause in a request body (nginx client_body_timeout),
  // and an optional deadline for the whole body (0 = none).
  Duration client_body_timeout = 60s;
  Duration client_body_total_timeout{0};
  // http: the longest a client may take no byte of its response (nginx
  // send_timeout), and a server no byte of a request (proxy_send_timeout).
  Duration client_send_timeout = 60s;
  Duration upstream_send_timeout = 60s;
  Duration request_timeout{0};  // http: head received to response sent; 0 = none
  HttpLimitsConfig limits;      // http only
  bool normalize_path = true;   // http: the server gets the canonical path
  ListenerTlsConfig tls;
  unsigned backlog = 511;
  // http: connections are handed over once their first bytes came
  // (TCP_DEFER_ACCEPT), and read before they are watched.
  bool defer_accept = false;
  // Peers whose PROXY header (proxy_protocol) and forwarding fields
  // (X-Forwarded-For, ...) are believed. Empty: nobody's.
  CidrList trusted_proxies;
  Mark trusted_proxies_mark;
  ProxyAccept proxy_protocol = ProxyAccept::Off;
  Mark proxy_protocol_mark;
  Duration proxy_header_timeout = 5s;  // from accept to the end of the PROXY header
  // http: a client's X-Request-Id is kept when the client is not a trusted
  // proxy (request_id.trust_client).
  bool trust_client_request_id = false;
  Mark mark;
  Mark listen_mark;
  Mark upstream_mark;
  Mark limits_mark;
  Mark http_only_mark;  // where an http-only key was written (0 = none)
  std::string http_only_key;
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
