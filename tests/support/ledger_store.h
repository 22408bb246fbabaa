// The store under an idempotency ledger test, so one test body checks the
// ledger's answers with each store: eachStore() makes the test case run
// once per store (doctest subcases "memory store" and "redis store"), and
// StoreUnderTest gives the Redis run a redis-server of its own on a Unix
// socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/proxy.h"
#include "support/redis_server.h"

namespace fulcrum::test {

enum class StoreKind { Memory, Redis };

// Call once per run of a TEST_CASE, outside any loop: the case runs again
// for each store, and a failure names the subcase.
StoreKind eachStore();

class StoreUnderTest {
 public:
  explicit StoreUnderTest(StoreKind kind);

  // idempotency_store entries for ledgerYaml(): empty (the default memory
  // store) or a Redis store on this test's own server.
  const std::string& config() const { return config_; }
  // proxy.port("web"), once the worker is connected to its Redis store.
  uint16_t port(Proxy& proxy) const;

 private:
  std::unique_ptr<RedisServer> redis_;
  std::string config_;
};

// proxy.port("web") once its worker says it is connected to Redis.
uint16_t portOnceRedisConnected(Proxy& proxy);

}  // namespace fulcrum::test
