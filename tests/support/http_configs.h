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

  std::string yaml() const;
};

}  // namespace fulcrum::test
