// Config text for integration tests: one TCP listener "edge" on
// 127.0.0.1:0 in front of upstream "pool". And loading config text, or an
// address, that a test needs to be valid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/schema.h"

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

// The address "host:port" names, which must parse (REQUIREd, with the
// reason shown).
SocketAddress validAddress(const std::string& text);

// The Config of `yaml`, which must load without errors (each error is
// shown, then the test stops with doctest's REQUIRE).
config::Config loadValidConfig(const std::string& yaml);

}  // namespace fulcrum::test
