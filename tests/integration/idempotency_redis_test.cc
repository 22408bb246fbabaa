// The idempotency ledger in Redis, through the real proxy and a real
// redis-server the test starts on a Unix socket in its own folder: the
// same answers as the memory store, two fulcrum processes acting as one,
// Redis killed and restarted (on_store_error both ways; unkeyed traffic
// untouched) and fulcrum killed mid-request (its claim expires).
#include <doctest/doctest.h>
#include <signal.h>

#include <string>
#include <thread>

#include "support/http_configs.h"
#include "support/ledger_requests.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/redis_server.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

std::string redisStore(const RedisServer& redis) {
  return "type: redis, address: \"" + redis.address() + "\", timeout: 200ms";
}

// Waits until a keyed request through `port` gets an answer from the
// ledger rather than a store error (the worker's connection is up).
bool storeAnswers(uint16_t port, const std::string& probe_key) {
  return pollUntil([&] { return rawStatus(rawExchange(port, keyedPost(probe_key, "{}"))) != 503; },
                   10s, 10ms, 200ms);
}

}  // namespace

TEST_CASE("ledger in redis: first, replay byte for byte, mismatch and the server sees one") {
  RedisServer redis;
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "", redisStore(redis)));
  const uint16_t port = proxy.port("web");
  REQUIRE(storeAnswers(port, "probe"));
  const size_t before = backend.requests().size();
  auto first = rawExchange(port, keyedPost("pay-1", "{\"amount\":100}"));
  REQUIRE(rawStatus(first) == 201);
  auto again = rawExchange(port, keyedPost("pay-1", "{\"amount\":100}"));
  REQUIRE(rawStatus(again) == 201);
  CHECK(rawField(*again, "Idempotent-Replayed") == "true");
  CHECK(comparable(*again) == comparable(*first));
  CHECK(rawStatus(rawExchange(port, keyedPost("pay-1", "{\"amount\":7}"))) == 422);
  CHECK(backend.requests().size() == before + 1);
}

TEST_CASE("ledger in redis: two fulcrum processes on one redis behave as one") {
  RedisServer redis;
  Gate gate;
  RawBackend backend([&](size_t index, const std::string& request) {
    if (request.find("Idempotency-Key: shared") != std::string::npos) gate.wait();
    return charge(index);
  });
  Proxy one(ledgerYaml(backend.port(), "", redisStore(redis)));
  Proxy two(ledgerYaml(backend.port(), "", redisStore(redis)));
  const uint16_t port_one = one.port("web");
  const uint16_t port_two = two.port("web");
  REQUIRE(storeAnswers(port_one, "probe-1"));
  REQUIRE(storeAnswers(port_two, "probe-2"));

  std::optional<std::string> first;
  std::thread client([&] { first = rawExchange(port_one, keyedPost("shared", "{}")); });
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));
  // In flight on the first instance: the second says 409.
  auto conflict = rawExchange(port_two, keyedPost("shared", "{}"));
  CHECK(rawStatus(conflict) == 409);
  CHECK(rawField(*conflict, "Retry-After") == "1");
  gate.release();
  client.join();
  REQUIRE(rawStatus(first) == 201);
  // Completed: the second instance replays the first's answer.
  auto replay = rawExchange(port_two, keyedPost("shared", "{}"));
  CHECK(rawStatus(replay) == 201);
  CHECK(rawField(*replay, "Idempotent-Replayed") == "true");
  CHECK(responseBody(replay) == responseBody(first));
}

TEST_CASE("ledger in redis: redis down: reject gets 503, forward goes on, unkeyed untouched") {
  for (const bool forward : {false, true}) {
    CAPTURE(forward);
    RedisServer redis;
    RawBackend backend([](size_t index, const std::string&) { return charge(index); });
    Proxy proxy(
        ledgerYaml(backend.port(), forward ? "on_store_error: forward" : "", redisStore(redis)));
    const uint16_t port = proxy.port("web");
    REQUIRE(storeAnswers(port, "probe"));
    redis.kill();
    const size_t before = backend.requests().size();
    auto keyed = rawExchange(port, keyedPost("while-down", "{}"));
    if (forward) {
      CHECK(rawStatus(keyed) == 201);
      CHECK(backend.requests().size() == before + 1);
    } else {
      CHECK(rawStatus(keyed) == 503);
      CHECK(rawField(*keyed, "Retry-After") == "1");
      CHECK(responseBody(keyed).find("idempotency_store_unavailable") != std::string::npos);
      CHECK(backend.requests().size() == before);
    }
    // Requests without a key never touch the store.
    CHECK(rawStatus(rawExchange(port, keyedPost("", "{}"))) == 201);
    CHECK(rawStatus(rawExchange(port, "GET /v1/payments HTTP/1.1\r\nHost: t\r\n\r\n")) == 201);

    // Back up: the worker reconnects and the ledger works again.
    redis.start();
    CHECK(pollUntil(
        [&] {
          auto response = rawExchange(port, keyedPost("after", "{}"));
          return response && rawField(*response, "Idempotent-Replayed") == "true";
        },
        15s, 20ms, 250ms));
  }
}

TEST_CASE(
    "ledger in redis: fulcrum killed mid-request: its claim expires after in_flight_timeout") {
  RedisServer redis;
  Gate gate;
  RawBackend backend([&](size_t index, const std::string& request) {
    if (index == 0 || request.find("Idempotency-Key: orphan") == std::string::npos)
      return charge(index);
    if (gate.waiting() == 0) gate.wait();  // the first "orphan" request only
    return charge(index);
  });
  const std::string options = "ttl: 60s, in_flight_timeout: 1s";
  auto doomed = std::make_unique<Proxy>(ledgerYaml(backend.port(), options, redisStore(redis)));
  Proxy survivor(ledgerYaml(backend.port(), options, redisStore(redis)));
  const uint16_t doomed_port = doomed->port("web");
  const uint16_t port = survivor.port("web");
  REQUIRE(storeAnswers(doomed_port, "probe-1"));
  REQUIRE(storeAnswers(port, "probe-2"));

  std::thread client([&] { rawExchange(doomed_port, keyedPost("orphan", "{}")); });
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));
  doomed->process().signal(SIGKILL);
  REQUIRE(doomed->process().waitExit());
  client.join();
  CHECK(rawStatus(rawExchange(port, keyedPost("orphan", "{}"))) == 409);
  // Once the dead instance's claim expires, the key goes to a server again.
  CHECK(pollUntil([&] { return rawStatus(rawExchange(port, keyedPost("orphan", "{}"))) == 201; },
                  10s, 50ms, 250ms));
  gate.release();
  doomed.reset();
}
