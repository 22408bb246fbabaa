#include <doctest/doctest.h>

#include <filesystem>

#include "balance/registry.h"
#include "config/loader.h"
#include "config/validate.h"
#include "config/warnings.h"
#include "support/configs.h"

using namespace fulcrum::config;

namespace {

Config load(const std::string& yaml) {
  return fulcrum::test::loadValidConfig(yaml);
}

const char* kMinimal =
    "listeners:\n"
    "  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
    "upstreams:\n"
    "  pool:\n"
    "    servers:\n"
    "      - { address: 127.0.0.1:9001 }\n";

}  // namespace

TEST_CASE("a minimal config gets the documented defaults") {
  Config config = load(kMinimal);
  CHECK(config.global.workers == 0);  // auto
  CHECK(config.global.admin.listen.toString() == "127.0.0.1:9901");
  CHECK(config.global.log.level == "info");
  CHECK(config.global.log.access == AccessLogTarget::Off);
  CHECK(config.global.drain_timeout == std::chrono::seconds(30));
  CHECK(config.global.drain_grace == std::chrono::seconds(0));
  REQUIRE(config.listeners.size() == 1);
  CHECK(config.listeners[0].protocol == Protocol::Tcp);
  CHECK(config.listeners[0].idle_timeout == std::chrono::hours(1));
  CHECK(config.listeners[0].backlog == 511);
  REQUIRE(config.upstreams.size() == 1);
  CHECK(config.upstreams[0].balance == "round_robin");
  CHECK(config.upstreams[0].connect_timeout == std::chrono::seconds(5));
  CHECK(config.upstreams[0].servers[0].weight == 1);
  CHECK_FALSE(config.upstreams[0].servers[0].backup);
  CHECK(config.upstreams[0].servers[0].label() == "127.0.0.1:9001");
}

TEST_CASE("without outlier_detection only connect failures eject, briefly, a block adds 5xx") {
  const OutlierConfig implicit = load(kMinimal).upstreams[0].outlier;
  CHECK(implicit.enabled);
  CHECK_FALSE(implicit.written);
  CHECK(implicit.consecutive_connect_failures == 5);
  CHECK(implicit.consecutive_5xx == 0);
  CHECK(implicit.consecutive_gateway_errors == 0);
  CHECK(implicit.base_ejection == std::chrono::seconds(1));
  CHECK(implicit.max_ejection == std::chrono::seconds(4));
  CHECK(implicit.max_ejection_percent == 10);

  const OutlierConfig written =
      load(std::string(kMinimal) + "    outlier_detection: { interval: 5s }\n")
          .upstreams[0]
          .outlier;
  CHECK(written.enabled);
  CHECK(written.written);
  CHECK(written.consecutive_5xx == 5);
  CHECK(written.consecutive_connect_failures == 5);
  CHECK(written.base_ejection == std::chrono::seconds(30));
  CHECK(written.max_ejection == std::chrono::seconds(300));

  const OutlierConfig off = load(std::string(kMinimal) +
                                 "    outlier_detection: { consecutive_connect_failures: 0,"
                                 " consecutive_5xx: 0 }\n")
                                .upstreams[0]
                                .outlier;
  CHECK_FALSE(off.enabled);
}

TEST_CASE("every supported key is read into the typed config") {
  Config config = load(
      "global:\n"
      "  workers: 3\n"
      "  admin: { listen: '[::1]:9999' }\n"
      "  log: { level: debug, access: /tmp/fulcrum-access.log }\n"
      "  drain_timeout: 250ms\n"
      "  drain_grace: 3s\n"
      "listeners:\n"
      "  - name: v6\n"
      "    listen: '[::1]:0'\n"
      "    protocol: tcp\n"
      "    upstream: pool\n"
      "    backlog: 64\n"
      "    timeouts: { idle: 2m }\n"
      "upstreams:\n"
      "  pool:\n"
      "    balance: round_robin\n"
      "    timeouts: { connect: 1500ms }\n"
      "    servers:\n"
      "      - { address: 'localhost:9001', name: local, weight: 7 }\n"
      "      - { address: '[::1]:9002', backup: true }\n");
  CHECK(config.global.workers == 3);
  CHECK(config.global.admin.listen.toString() == "[::1]:9999");
  CHECK(config.global.log.level == "debug");
  CHECK(config.global.log.access == AccessLogTarget::File);
  CHECK(config.global.log.access_path == "/tmp/fulcrum-access.log");
  CHECK(config.global.drain_timeout == std::chrono::milliseconds(250));
  CHECK(config.global.drain_grace == std::chrono::seconds(3));
  const ListenerConfig& listener = config.listeners[0];
  CHECK(listener.name == "v6");
  CHECK(listener.address.toString() == "[::1]:0");
  CHECK(listener.backlog == 64);
  CHECK(listener.idle_timeout == std::chrono::minutes(2));
  const UpstreamConfig& pool = config.upstreams[0];
  CHECK(pool.connect_timeout == std::chrono::milliseconds(1500));
  REQUIRE(pool.servers.size() == 2);
  CHECK(pool.servers[0].label() == "local");
  CHECK(pool.servers[0].address.isLoopback());
  CHECK(pool.servers[0].address.port() == 9001);
  CHECK(pool.servers[0].weight == 7);
  CHECK(pool.servers[1].backup);
  CHECK(pool.servers[1].label() == "[::1]:9002");
}

TEST_CASE("allow_trace is off on a route unless written") {
  Config config = load(
      "listeners:\n"
      "  - name: api\n    listen: 127.0.0.1:0\n    protocol: http\n    routes:\n"
      "      - { match: { path_prefix: /debug/ }, upstream: pool, allow_trace: true }\n"
      "      - { upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n");
  REQUIRE(config.listeners[0].routes.size() == 2);
  CHECK(config.listeners[0].routes[0].allow_trace);
  CHECK_FALSE(config.listeners[0].routes[1].allow_trace);
}

TEST_CASE("workers: auto and access: stdout are accepted") {
  Config config =
      load(std::string("global: { workers: auto, log: { access: stdout } }\n") + kMinimal);
  CHECK(config.global.workers == 0);
  CHECK(config.global.log.access == AccessLogTarget::Stdout);
}

TEST_CASE("the shipped demo config and every example load without error") {
  std::vector<std::string> files{FULCRUM_SOURCE_DIR "/conf/fulcrum.yaml"};
  for (const auto& dir : {FULCRUM_SOURCE_DIR "/conf/examples", FULCRUM_FIXTURES "/good"}) {
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  for (const auto& file : files) {
    CAPTURE(file);
    LoadResult result = loadConfigFile(file, fulcrum::balance::strategyNames());
    // Certificates and keys are not shipped (the demo's are made by
    // `make run`): their files may be missing, nothing else may be wrong.
    size_t other_errors = 0;
    for (const auto& error : result.errors) {
      MESSAGE(error.toString());
      const bool missing_tls_file =
          error.key.find(".tls.") != std::string::npos &&
          error.message.find(": cannot open: No such file or directory") != std::string::npos;
      other_errors += !missing_tls_file;
    }
    CHECK(other_errors == 0);
    if (result.errors.empty()) CHECK(result.config.has_value());
  }
}

TEST_CASE("a token on an admin listener reachable from other hosts is a warning") {
  const std::string body =
      "listeners:\n  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n";
  // Without a token the API is off: /metrics and /status for the network
  // is a common, read-only setup.
  CHECK(warnings(load("global:\n  admin: { listen: 0.0.0.0:9901 }\n" + body)).empty());
  Config with_token =
      load("global:\n  admin: { listen: 0.0.0.0:9901, token: abcdefghijklmnop0123 }\n" + body);
  CHECK(with_token.global.admin.token == "abcdefghijklmnop0123");
  auto found = warnings(with_token);
  REQUIRE(found.size() == 1);
  CHECK(found[0].toString().rfind("test.yaml:2:41: global.admin.token: warning: the admin "
                                  "listener 0.0.0.0:9901 speaks plain HTTP",
                                  0) == 0);
  CHECK(
      warnings(load("global:\n  admin: { listen: 127.0.0.1:9901, token: abcdefghijklmnop0123 }\n" +
                    body))
          .empty());
  CHECK(warnings(load(body)).empty());  // the default is loopback, without a token
}

TEST_CASE("admin hosts and protect_status are read, names in one form") {
  const std::string body =
      "listeners:\n  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n";
  Config config = load(
      "global:\n  admin:\n    token: abcdefghijklmnop0123\n    protect_status: true\n"
      "    hosts: [Admin.Example.COM., 192.0.2.7, '[2001:DB8::1]', fulcrum-1]\n" +
      body);
  CHECK(config.global.admin.protect_status);
  CHECK(config.global.admin.hosts ==
        std::vector<std::string>{"admin.example.com", "192.0.2.7", "2001:db8::1", "fulcrum-1"});
  Config defaults = load(body);
  CHECK_FALSE(defaults.global.admin.protect_status);
  CHECK(defaults.global.admin.hosts.empty());
  CHECK(defaults.global.admin.token.empty());
}

TEST_CASE("settings that risk a stall or a duplicate are warnings at their place") {
  const std::string head =
      "listeners:\n  - { name: edge, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n";
  // Defaults, and written values inside the bounds, warn about nothing.
  CHECK(warnings(load(head)).empty());
  CHECK(
      warnings(load(head + "    timeouts: { response: 10s }\n"
                           "    keepalive: { idle_timeout: 60s }\n"
                           "    retries: { attempts: 2, per_try_timeout: 5s, reuse_safe_window: 4s,"
                           " budget_percent: 10 }\n"))
          .empty());

  auto found =
      warnings(load(head + "    timeouts: { response: 10s }\n"
                           "    keepalive: { idle_timeout: 2m }\n"
                           "    retries: { attempts: 3, per_try_timeout: 4s, reuse_safe_window: 5s,"
                           " budget_percent: 0 }\n"));
  std::vector<std::string> lines;
  for (const auto& warning : found) lines.push_back(warning.toString());
  REQUIRE(lines.size() == 4);
  auto has = [&](const std::string& start) {
    for (const auto& line : lines)
      if (line.rfind(start, 0) == 0) return true;
    return false;
  };
  CHECK(
      has("test.yaml:9:46: upstreams.pool.retries.per_try_timeout: warning: 3 attempts of 4s "
          "can take 12s, longer than timeouts.response (10s)"));
  CHECK(has("test.yaml:9:69: upstreams.pool.retries.reuse_safe_window: warning: longer than 4s"));
  CHECK(has("test.yaml:8:32: upstreams.pool.keepalive.idle_timeout: warning: longer than 75s"));
  CHECK(has("test.yaml:9:89: upstreams.pool.retries.budget_percent: warning: 0 allows no retries"));
}

TEST_CASE("an upstream whose every server is a backup loads, with a warning") {
  const std::string head =
      "listeners:\n  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n";
  Config only_backup = load(head + "      - { address: 127.0.0.1:9001, backup: true }\n");
  auto found = warnings(only_backup);
  REQUIRE(found.size() == 1);
  CHECK(found[0].toString().rfind(
            "test.yaml:4:3: upstreams.pool.servers: warning: every server is a backup", 0) == 0);
  CHECK(warnings(load(head + "      - { address: 127.0.0.1:9001, backup: true }\n"
                             "      - { address: 127.0.0.1:9002 }\n"))
            .empty());
}

TEST_CASE("panic_threshold is off unless written, as 50% or 50") {
  CHECK(load(kMinimal).upstreams[0].panic_threshold == 0);
  CHECK(load(std::string(kMinimal) + "    panic_threshold: 50%\n").upstreams[0].panic_threshold ==
        50);
  CHECK(load(std::string(kMinimal) + "    panic_threshold: 30\n").upstreams[0].panic_threshold ==
        30);
  auto bad = loadConfigText(std::string(kMinimal) + "    panic_threshold: 150%\n", "test.yaml",
                            fulcrum::balance::strategyNames());
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].toString() ==
        "test.yaml:7:22: upstreams.pool.panic_threshold: expected a percentage from 0% to 100%, "
        "got '150%'");
}

TEST_CASE("connection limits: derived unless written, the admin listener's 64 by default") {
  Config defaults = load(kMinimal);
  CHECK(defaults.global.max_connections == 0);  // derived from the open files limit
  CHECK(defaults.global.admin.max_connections == 64);
  Config written = load(
      std::string("global: { max_connections: 5000, admin: { max_connections: 8 } }\n") + kMinimal);
  CHECK(written.global.max_connections == 5000);
  CHECK(written.global.admin.max_connections == 8);
}

TEST_CASE("forwarding trust and PROXY protocol keys: off and untrusting by default, as written") {
  Config defaults = load(kMinimal);
  CHECK(defaults.listeners[0].trusted_proxies.empty());
  CHECK(defaults.listeners[0].proxy_protocol == ProxyAccept::Off);
  CHECK(defaults.listeners[0].proxy_header_timeout == std::chrono::seconds(5));
  CHECK_FALSE(defaults.listeners[0].trust_client_request_id);
  CHECK_FALSE(defaults.upstreams[0].proxy_protocol);

  Config config = load(
      "listeners:\n"
      "  - name: api\n"
      "    listen: 127.0.0.1:0\n"
      "    protocol: http\n"
      "    upstream: pool\n"
      "    trusted_proxies: [10.0.0.0/8, 192.0.2.7, '2001:db8::/32']\n"
      "    proxy_protocol: optional\n"
      "    timeouts: { proxy_header: 2s }\n"
      "    request_id: { trust_client: true }\n"
      "  - { name: edge, listen: 127.0.0.1:0, upstream: pool, proxy_protocol: required,\n"
      "      trusted_proxies: ['::1'] }\n"
      "upstreams:\n"
      "  pool:\n"
      "    proxy_protocol: v2\n"
      "    servers:\n"
      "      - { address: 127.0.0.1:9001 }\n");
  const ListenerConfig& api = config.listeners[0];
  REQUIRE(api.trusted_proxies.ranges().size() == 3);
  CHECK(api.trusted_proxies.ranges()[1].toString() == "192.0.2.7/32");
  CHECK(api.trusted_proxies.ranges()[2].toString() == "2001:db8::/32");
  CHECK(api.proxy_protocol == ProxyAccept::Optional);
  CHECK(api.proxy_header_timeout == std::chrono::seconds(2));
  CHECK(api.trust_client_request_id);
  CHECK(config.listeners[1].proxy_protocol == ProxyAccept::Required);
  CHECK(config.upstreams[0].proxy_protocol == fulcrum::net::ProxyVersion::V2);
  Config v1 = load(std::string(kMinimal) + "    proxy_protocol: v1\n");
  CHECK(v1.upstreams[0].proxy_protocol == fulcrum::net::ProxyVersion::V1);
  CHECK_FALSE(
      load(std::string(kMinimal) + "    proxy_protocol: off\n").upstreams[0].proxy_protocol);
}

TEST_CASE("trusted_proxies that hold a whole address family are a warning") {
  const std::string head =
      "listeners:\n  - { name: api, listen: 127.0.0.1:0, protocol: http, upstream: pool,\n"
      "      trusted_proxies: ";
  const std::string tail =
      " }\nupstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n";
  auto found = warnings(load(head + "[10.0.0.0/8, '::/0', 0.0.0.0/0]" + tail));
  REQUIRE(found.size() == 1);
  CHECK(found[0].toString() ==
        "test.yaml:3:24: listeners[0].trusted_proxies: warning: ::/0 trusts every client of its "
        "family: any of them may say who it is (X-Forwarded-For, a PROXY header) and be "
        "believed");
  CHECK(warnings(load(head + "[10.0.0.0/8, '::1']" + tail)).empty());
}

TEST_CASE("global.takeover_socket: none by default, an absolute path, else an error at its place") {
  CHECK(load(kMinimal).global.takeover_socket.empty());
  Config config =
      load(std::string("global: { takeover_socket: /run/fulcrum/fulcrum.sock }\n") + kMinimal);
  CHECK(config.global.takeover_socket == "/run/fulcrum/fulcrum.sock");
  auto relative =
      loadConfigText(std::string("global: { takeover_socket: fulcrum.sock }\n") + kMinimal,
                     "inline.yaml", fulcrum::balance::strategyNames());
  REQUIRE(relative.errors.size() == 1);
  CHECK(relative.errors[0].toString() ==
        "inline.yaml:1:28: global.takeover_socket: expected an absolute path of at most 107 "
        "bytes, got 'fulcrum.sock'");
}
