// Config text for the forwarding-field and PROXY protocol tests: one
// listener "front" on 127.0.0.1:0 (http or tcp) in front of upstream
// "pool", with the listener's and the upstream's extra keys given as YAML
// lines, so each test writes exactly the trust it is about.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::test {

struct ForwardingConfig {
  std::string protocol = "http";
  std::vector<uint16_t> servers;
  // Lines under the listener, each "key: value" (indented for you).
  std::vector<std::string> listener;
  // Lines under upstream "pool", likewise.
  std::vector<std::string> upstream;
  std::string access_log = "off";

  std::string yaml() const;
};

}  // namespace fulcrum::test
