// Servers from DNS in the config: `dns:` and `srv:` entries of servers[],
// global.resolvers, and the errors that name file:line:column.
#include <doctest/doctest.h>

#include "balance/registry.h"
#include "config/loader.h"
#include "support/configs.h"

using namespace fulcrum::config;

namespace {

std::string withServers(const std::string& servers, const std::string& global = "") {
  return global +
         "listeners:\n"
         "  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
         "upstreams:\n"
         "  pool:\n"
         "    servers:\n" +
         servers;
}

// Every error of `yaml`, one per line.
std::string errorsOf(const std::string& yaml) {
  LoadResult result = loadConfigText(yaml, "test.yaml", fulcrum::balance::strategyNames());
  std::string text;
  for (const auto& error : result.errors) text += error.toString() + "\n";
  return text;
}

}  // namespace

TEST_CASE("dns and srv entries load as discovery, not as servers") {
  Config config = fulcrum::test::loadValidConfig(
      withServers("      - { address: 127.0.0.1:9001 }\n"
                  "      - { dns: Payments.Internal.:8080, weight: 3, backup: true,"
                  " resolve: { interval: 2s } }\n"
                  "      - { srv: _payments._tcp.internal }\n",
                  "global:\n  resolvers: [127.0.0.1:5353, 127.0.0.2, '::1']\n"));
  const UpstreamConfig& pool = config.upstreams[0];
  REQUIRE(pool.servers.size() == 1);
  REQUIRE(pool.discovery.size() == 2);
  CHECK(pool.discovery[0].kind == DiscoveryConfig::Kind::Address);
  CHECK(pool.discovery[0].name == "payments.internal");
  CHECK(pool.discovery[0].port == 8080);
  CHECK(pool.discovery[0].weight == 3);
  CHECK(pool.discovery[0].backup);
  CHECK(pool.discovery[0].interval == std::chrono::seconds(2));
  CHECK(pool.discovery[0].key() == "dns:payments.internal:8080");
  CHECK(pool.discovery[1].kind == DiscoveryConfig::Kind::Srv);
  CHECK(pool.discovery[1].interval == std::chrono::seconds(5));
  CHECK(pool.discovery[1].key() == "srv:_payments._tcp.internal");
  REQUIRE(config.global.resolvers.size() == 3);
  CHECK(config.global.resolvers[0].toString() == "127.0.0.1:5353");
  CHECK(config.global.resolvers[1].toString() == "127.0.0.2:53");
  CHECK(config.global.resolvers[2].toString() == "[::1]:53");
}

TEST_CASE("an upstream whose only servers come from DNS is valid") {
  Config config =
      fulcrum::test::loadValidConfig(withServers("      - { dns: pay.internal:8080 }\n"));
  CHECK(config.upstreams[0].servers.empty());
  CHECK(config.global.resolvers.empty());
}

TEST_CASE("dns entry errors name file, line and column") {
  CHECK(errorsOf(withServers("      - { dns: pay.internal }\n")) ==
        "test.yaml:6:16: upstreams.pool.servers[0].dns: expected NAME:PORT, got 'pay.internal'\n");
  CHECK(errorsOf(withServers("      - { dns: 'pay.internal:0' }\n")) ==
        "test.yaml:6:16: upstreams.pool.servers[0].dns: expected a port from 1 to 65535 after "
        "the name, got 'pay.internal:0'\n");
  CHECK(errorsOf(withServers("      - { dns: '10.0.0.1:80' }\n")) ==
        "test.yaml:6:16: upstreams.pool.servers[0].dns: '10.0.0.1' is not a DNS name (write "
        "address: for an IP address)\n");
  CHECK(errorsOf(withServers("      - { dns: 'pay internal:80' }\n")) ==
        "test.yaml:6:16: upstreams.pool.servers[0].dns: 'pay internal' is not a DNS name\n");
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80', address: 127.0.0.1:80 }\n")) ==
        "test.yaml:6:9: upstreams.pool.servers[0]: write one of address, dns and srv\n");
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80', name: x }\n")) ==
        "test.yaml:6:32: upstreams.pool.servers[0].name: does not apply to dns: and srv: (each "
        "address is a server, named by its address)\n");
  CHECK(errorsOf(withServers("      - { srv: _a._tcp.b, weight: 2 }\n")) ==
        "test.yaml:6:35: upstreams.pool.servers[0].weight: does not apply to srv: (the records "
        "give weights and priorities)\n");
  CHECK(errorsOf(withServers("      - { address: 127.0.0.1:80, resolve: { interval: 1s } }\n")) ==
        "test.yaml:6:43: upstreams.pool.servers[0].resolve: applies to dns: and srv: only\n");
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80', resolve: { interval: 10ms } }\n")) ==
        "test.yaml:6:47: upstreams.pool.servers[0].resolve.interval: must be at least 100ms, "
        "got '10ms'\n");
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80', resolve: { every: 1s } }\n")) != "");
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80' }\n      - { dns: 'A.b:80' }\n")) ==
        "test.yaml:7:16: upstreams.pool.servers: duplicate entry dns:a.b:80\n");
  CHECK(errorsOf(withServers("      - { weight: 2 }\n")) ==
        "test.yaml:6:9: upstreams.pool.servers[0].address: a server needs an address (or dns: "
        "or srv:)\n");
}

TEST_CASE("global.resolvers errors name file, line and column") {
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80' }\n", "global:\n  resolvers: []\n")) ==
        "test.yaml:2:14: global.resolvers: expected a list of DNS server addresses (IP or "
        "IP:PORT)\n");
  CHECK(errorsOf(
            withServers("      - { dns: 'a.b:80' }\n", "global:\n  resolvers: [ns1.example.com]\n"))
            .rfind("test.yaml:2:15: global.resolvers[0]: bad DNS server 'ns1.example.com'", 0) ==
        0);
  CHECK(errorsOf(withServers("      - { dns: 'a.b:80' }\n",
                             "global:\n  resolvers: ['127.0.0.1:0']\n")) ==
        "test.yaml:2:15: global.resolvers[0]: bad DNS server '127.0.0.1:0': port 0\n");
}
