#include "support/http_configs.h"

namespace fulcrum::test {

std::string HttpConfig::yaml() const {
  std::string out = "global:\n  workers: " + std::to_string(workers) +
                    "\n  log: { level: debug, access: " + access_log +
                    " }\n  admin: { listen: 127.0.0.1:0" + admin_extra + " }\n" + global_extra +
                    "listeners:\n  - name: web\n    listen: 127.0.0.1:0\n    protocol: http\n"
                    "    timeouts: { client_header: " +
                    client_header_timeout + ", client_idle: " + client_idle_timeout +
                    ", client_body: " + client_body_timeout + extra_timeouts + " }\n";
  if (!limits.empty()) out += "    limits: " + limits + "\n";
  out += listener_extra;
  if (routes.empty())
    out += "    upstream: pool\n";
  else
    out += "    routes:\n" + routes;
  out += "upstreams:\n  pool:\n    timeouts: { connect: 2s, response: " + response_timeout +
         " }\n    servers:\n";
  for (uint16_t port : servers)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  for (uint16_t port : backups)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + ", backup: true }\n";
  out += extra_upstreams;
  return out;
}

std::string FirstConfig::yaml() const {
  std::string out =
      "global: { workers: 1, log: { level: debug, access: stdout },"
      " admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    balance: round_robin\n"
      "    timeouts: { connect: 1s, response: 3s }\n"
      "    retries: { attempts: 2, non_idempotent: if_idempotency_key" +
      more_retries + " }\n    servers:\n";
  for (const auto& server : servers) out += "      - { address: " + server + " }\n";
  return out;
}

std::string loopbackAddress(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

std::string tlsHttpConfig(uint16_t backend, const std::string& tls, unsigned workers) {
  HttpConfig config;
  config.servers = {backend};
  config.workers = workers;
  config.listener_extra = "    tls: " + tls + "\n";
  return config.yaml();
}

}  // namespace fulcrum::test
