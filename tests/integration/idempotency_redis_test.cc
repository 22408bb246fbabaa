// The idempotency ledger in Redis, through the real proxy and a real
// redis-server the test starts on a Unix socket in its own folder (the
// answers each store gives are in idempotency_ledger_test.cc): two
// fulcrum processes acting as one, Redis killed and restarted
// (on_store_error both ways; unkeyed traffic untouched), fulcrum killed
// mid-request (its claim expires), and Redis over TCP with a password and
// a key prefix (what is kept there; a wrong password).
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>

#include "support/http_configs.h"
#include "support/ledger_requests.h"
#include "support/ledger_store.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// The hex SHA-256 of `text`.
std::string sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  REQUIRE(EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  std::string out;
  char byte[3];
  for (unsigned i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    out += byte;
  }
  return out;
}

// Waits until a keyed request through `port` gets an answer from the
// ledger rather than a store error (the worker's connection is up).
bool storeAnswers(uint16_t port, const std::string& probe_key) {
  return pollUntil([&] { return rawStatus(rawExchange(port, keyedPost(probe_key, "{}"))) != 503; },
                   10s, 10ms, 200ms);
}

}  // namespace

TEST_CASE("ledger in redis: two fulcrum processes on one redis behave as one") {
  RedisServer redis;
  Gate gate;
  RawBackend backend([&](size_t index, const std::string& request) {
    if (request.find("Idempotency-Key: shared") != std::string::npos) gate.wait();
    return charge(index);
  });
  Proxy one(ledgerYaml(backend.port(), "", redis.storeConfig()));
  Proxy two(ledgerYaml(backend.port(), "", redis.storeConfig()));
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
        ledgerYaml(backend.port(), forward ? "on_store_error: forward" : "", redis.storeConfig()));
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
  auto doomed = std::make_unique<Proxy>(ledgerYaml(backend.port(), options, redis.storeConfig()));
  Proxy survivor(ledgerYaml(backend.port(), options, redis.storeConfig()));
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

TEST_CASE(
    "ledger in redis over tcp with a password: keys carry key_prefix and no key or scope in "
    "clear, a wrong password is a store error") {
  const std::string password = "pass-7f3a9c";
  RedisServer redis(RedisOptions{.tcp = true, .password = password});
  TempDir dir;
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  // The store's entries, with the password in file `file`.
  auto store = [&](const std::string& file, const std::string& password_text) {
    return redis.storeConfig() + ", password_file: " + dir.write(file, password_text + "\n") +
           ", key_prefix: \"shop:idem:\"";
  };
  const std::string options = "scope: header:Authorization";
  Proxy proxy(ledgerYaml(backend.port(), options, store("redis.pass", password)));
  const uint16_t port = portOnceRedisConnected(proxy);
  const std::string key = "order-4711-in-clear";
  const std::string scope = "Bearer sk_alice_in_clear";
  const std::string post = keyedPost(key, "{\"amount\":100}", "Authorization: " + scope + "\r\n");
  REQUIRE(rawStatus(rawExchange(port, post)) == 201);
  auto replay = rawExchange(port, post);
  REQUIRE(rawStatus(replay) == 201);
  CHECK(rawField(*replay, "Idempotent-Replayed") == "true");
  CHECK(backend.requests().size() == 1);

  // One key: the prefix, then the hex SHA-256 of the scope value, a zero
  // byte and the key (README: how an operator finds it).
  const std::string stored = "shop:idem:" + sha256Hex(scope + '\0' + key);
  auto keys = redis.cli({"--scan"});
  REQUIRE(keys.status == 0);
  CHECK(keys.output == stored + "\n");
  auto value = redis.cli({"GET", stored});
  REQUIRE(value.status == 0);
  CHECK(value.output.find("{\"charge\":0}") != std::string::npos);  // the kept answer
  CHECK(value.output.find(key) == std::string::npos);
  CHECK(value.output.find("sk_alice_in_clear") == std::string::npos);

  // The wrong password: Redis refuses every claim, which is a store error
  // (on_store_error: reject); unkeyed requests still go through.
  Proxy refused(ledgerYaml(backend.port(), options, store("wrong.pass", "not-the-password")));
  // The log says why, once Redis has answered the AUTH.
  REQUIRE(refused.process().waitForText("idempotency store: redis refused the password"));
  const uint16_t refused_port = refused.port("web");
  auto keyed =
      rawExchange(refused_port, keyedPost("other", "{}", "Authorization: " + scope + "\r\n"));
  CHECK(rawStatus(keyed) == 503);
  CHECK(rawField(*keyed, "Retry-After") == "1");
  CHECK(responseBody(keyed).find("idempotency_store_unavailable") != std::string::npos);
  CHECK(backend.requests().size() == 1);
  CHECK(rawStatus(rawExchange(refused_port, keyedPost("", "{}"))) == 201);
  CHECK(backend.requests().size() == 2);
  CHECK(redis.cli({"--scan"}).output == stored + "\n");
}
