#include "support/configs.h"

#include <doctest/doctest.h>

#include "balance/registry.h"
#include "config/loader.h"

namespace fulcrum::test {

std::string TcpConfig::yaml() const {
  std::string out = "global:\n  workers: " + std::to_string(workers) +
                    "\n  log: { level: " + log_level + ", access: " + access_log +
                    " }\n  drain_timeout: " + drain_timeout +
                    // Port 0 keeps parallel test runs off each other's admin port.
                    "\n  admin: { listen: 127.0.0.1:0 }\n"
                    "listeners:\n  - name: edge\n    listen: 127.0.0.1:0\n    upstream: pool\n"
                    "    timeouts: { idle: " +
                    idle_timeout +
                    " }\n"
                    "upstreams:\n  pool:\n    timeouts: { connect: " +
                    connect_timeout + " }\n    servers:\n";
  for (uint16_t port : primaries)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  for (uint16_t port : backups)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + ", backup: true }\n";
  return out;
}

SocketAddress validAddress(const std::string& text) {
  SocketAddress out;
  std::string why;
  REQUIRE_MESSAGE(parseSocketAddress(text, out, why), why);
  return out;
}

config::Config loadValidConfig(const std::string& yaml) {
  config::LoadResult result = config::loadConfigText(yaml, "test.yaml", balance::strategyNames());
  for (const auto& error : result.errors) MESSAGE(error.toString());
  REQUIRE(result.config.has_value());
  return std::move(*result.config);
}

}  // namespace fulcrum::test
