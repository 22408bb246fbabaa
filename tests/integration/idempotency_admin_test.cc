// The idempotency ledger's admin API: an operator who looked up a payment
// whose outcome was unknown sees its key held, and releases it, through
// the real proxy's admin listener (the token required), with each store;
// with Redis, on any instance of a fleet, and a clear 503 while Redis is
// down.
#include <doctest/doctest.h>

#include <string>

#include "support/admin_api.h"
#include "support/http_configs.h"
#include "support/ledger_requests.h"
#include "support/ledger_store.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// The raw one (raw_backend.h), not the admin API's of the same name.
std::optional<std::string> send(uint16_t port, const std::string& request) {
  std::optional<std::string> (*raw)(uint16_t, const std::string&, bool) = &rawExchange;
  return raw(port, request, false);
}

// A ledger on /v1/payments scoped by Authorization, the admin API on.
std::string adminLedgerYaml(uint16_t backend, const std::string& store) {
  HttpConfig config;
  config.servers = {backend};
  config.admin_extra = ", token: " + kAdminToken;
  config.routes =
      "      - match: { path_prefix: /v1/payments }\n        upstream: pool\n"
      "        idempotency: { scope: header:Authorization }\n";
  config.global_extra = storeLines(store);
  return config.yaml();
}

const std::string kAlice = "Authorization: Bearer alice\r\n";
const std::string kAliceScope = "X-Idempotency-Scope: Bearer alice\r\n";

}  // namespace

TEST_CASE("ledger: the admin API shows a held key and an operator releases it") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) {
    return index == 0 ? closeWithoutAnswer() : charge(index);
  });
  Proxy proxy(adminLedgerYaml(backend.port(), store.config()));
  const uint16_t port = store.port(proxy);
  const uint16_t admin = proxy.adminPort();
  const std::string& alice = kAlice;
  REQUIRE(rawStatus(send(port, keyedPost("lost", "{}", alice))) == 502);
  REQUIRE(rawStatus(send(port, keyedPost("lost", "{}", alice))) == 409);

  const std::string scope = adminApiFields() + kAliceScope;
  auto shown = callOnce(admin, "GET", "/api/idempotency/lost", scope);
  REQUIRE(shown);
  CHECK(shown->status == 200);
  CHECK(shown->body == "{\"state\":\"unknown\",\"released\":false}");
  // Another scope is another key; without the token, nothing.
  CHECK(callOnce(admin, "GET", "/api/idempotency/lost", adminApiFields())->status == 404);
  CHECK(callOnce(admin, "GET", "/api/idempotency/lost")->status == 401);

  auto released = callOnce(admin, "POST", "/api/idempotency/lost/release", scope);
  REQUIRE(released);
  CHECK(released->status == 200);
  CHECK(released->body == "{\"state\":\"unknown\",\"released\":true}");
  // The next repeat goes to a server.
  CHECK(responseBody(send(port, keyedPost("lost", "{}", alice))) == "{\"charge\":1}");
  // The answer is kept once the exchange ends (with Redis, one round trip
  // after the client has it).
  CHECK(pollUntil(
      [&] {
        auto done = callOnce(admin, "GET", "/api/idempotency/lost", scope);
        return done && done->body == "{\"state\":\"done\",\"status\":201,\"released\":false}";
      },
      5s, 5ms, 100ms));
}

TEST_CASE("ledger in redis: any instance's admin API releases a key another instance holds") {
  RedisServer redis;
  RawBackend backend([](size_t index, const std::string&) {
    return index == 0 ? closeWithoutAnswer() : charge(index);
  });
  Proxy one(adminLedgerYaml(backend.port(), redis.storeConfig()));
  Proxy two(adminLedgerYaml(backend.port(), redis.storeConfig()));
  const uint16_t port_one = portOnceRedisConnected(one);
  const uint16_t port_two = portOnceRedisConnected(two);
  REQUIRE(rawStatus(send(port_one, keyedPost("fleet", "{}", kAlice))) == 502);
  REQUIRE(rawStatus(send(port_two, keyedPost("fleet", "{}", kAlice))) == 409);

  const std::string scope = adminApiFields() + kAliceScope;
  auto shown = callOnce(two.adminPort(), "GET", "/api/idempotency/fleet", scope);
  REQUIRE(shown);
  CHECK(shown->status == 200);
  CHECK(shown->body == "{\"state\":\"unknown\",\"released\":false}");
  auto released = callOnce(two.adminPort(), "POST", "/api/idempotency/fleet/release", scope);
  REQUIRE(released);
  CHECK(released->body == "{\"state\":\"unknown\",\"released\":true}");
  // Gone from Redis, so gone for the other instance too.
  CHECK(callOnce(one.adminPort(), "GET", "/api/idempotency/fleet", scope)->status == 404);
  CHECK(responseBody(send(port_one, keyedPost("fleet", "{}", kAlice))) == "{\"charge\":1}");
}

TEST_CASE(
    "ledger in redis: the admin API answers 503 while redis is down, and works once it is back") {
  RedisServer redis;
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(adminLedgerYaml(backend.port(), redis.storeConfig()));
  const uint16_t port = portOnceRedisConnected(proxy);
  const uint16_t admin = proxy.adminPort();
  const std::string scope = adminApiFields() + kAliceScope;
  REQUIRE(rawStatus(send(port, keyedPost("kept", "{}", kAlice))) == 201);
  REQUIRE(callOnce(admin, "GET", "/api/idempotency/kept", scope)->status == 200);

  redis.kill();
  auto down = callOnce(admin, "GET", "/api/idempotency/kept", scope);
  REQUIRE(down);
  CHECK(down->status == 503);
  CHECK(down->body.find("the idempotency store did not answer") != std::string::npos);
  // The admin listener itself is not held up.
  CHECK(callOnce(admin, "GET", "/healthz")->status == 200);

  redis.start();  // empty: the entry went with the old server
  CHECK(pollUntil(
      [&] {
        auto answer = callOnce(admin, "GET", "/api/idempotency/kept", scope);
        return answer && answer->status == 404;
      },
      15s, 20ms, 250ms));
}
