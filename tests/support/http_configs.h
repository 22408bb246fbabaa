// Config text for HTTP integration tests: listener "web" on 127.0.0.1:0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::test {

struct HttpConfig {
  std::vector<uint16_t> servers;
  std::vector<uint16_t> backups;  // after `servers`, with backup: true
  unsigned workers = 1;
  std::string routes;           // raw YAML list items under `routes:`; empty = upstream: pool
  std::string extra_upstreams;  // raw YAML mapping entries under `upstreams:`
  std::string client_header_timeout = "10s";
  std::string client_idle_timeout = "60s";
  std::string client_body_timeout = "60s";
  std::string extra_timeouts;  // raw YAML entries, e.g. ", client_send: 1s"
  std::string response_timeout = "10s";
  std::string limits;  // raw YAML flow mapping, e.g. "{ body: 1k }"
  std::string access_log = "off";
  std::string listener_extra;  // raw YAML lines under the listener, e.g. "    key: value\n"
  std::string global_extra;    // raw YAML lines under global, e.g. "  key: value\n"
  std::string admin_extra;     // entries after admin's listen, e.g. ", token: T"

  std::string yaml() const;
};

// The settings an operator writes first (issue #15): listener "web" on
// 127.0.0.1:0, `round_robin` over `servers` (host:port, as written),
// retries { attempts: 2, non_idempotent: if_idempotency_key }, timeouts
// { connect: 1s, response: 3s }, no health_check, no outlier_detection
// block, one worker. Debug log and the access log on stdout, which tests
// quote when a request fails.
struct FirstConfig {
  std::vector<std::string> servers;
  std::string more_retries;  // entries added to the retries mapping: ", per_try_timeout: 1s"

  std::string yaml() const;
};

// "127.0.0.1:port".
std::string loopbackAddress(uint16_t port);

// One HTTP listener "web" terminating TLS with `tls` (a flow mapping) in
// front of `backend` (upstream "pool").
std::string tlsHttpConfig(uint16_t backend, const std::string& tls, unsigned workers = 1);

}  // namespace fulcrum::test
