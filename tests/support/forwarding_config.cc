#include "support/forwarding_config.h"

namespace fulcrum::test {

std::string ForwardingConfig::yaml() const {
  std::string out = "global:\n  workers: 1\n  log: { level: debug, access: " + access_log +
                    " }\n  admin: { listen: 127.0.0.1:0 }\n"
                    "listeners:\n  - name: front\n    listen: 127.0.0.1:0\n    protocol: " +
                    protocol + "\n    upstream: pool\n";
  for (const std::string& line : listener) out += "    " + line + "\n";
  out += "upstreams:\n  pool:\n    timeouts: { connect: 2s }\n";
  for (const std::string& line : upstream) out += "    " + line + "\n";
  out += "    servers:\n";
  for (uint16_t port : servers)
    out += "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
  return out;
}

}  // namespace fulcrum::test
