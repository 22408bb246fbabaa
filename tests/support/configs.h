// Config text for integration tests: one TCP listener "edge" on
// 127.0.0.1:0 in front of upstream "pool".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::test {

struct TcpConfig {
  std::vector<uint16_t> primaries;
  std::vector<uint16_t> backups;
  unsigned workers = 2;
  std::string connect_timeout = "2s";
  std::string idle_timeout = "1m";
  std::string drain_timeout = "30s";
  std::string access_log = "off";
  std::string log_level = "debug";

  std::string yaml() const;
};

}  // namespace fulcrum::test
