#include "support/ledger_store.h"

#include <doctest/doctest.h>

namespace fulcrum::test {

StoreKind eachStore() {
  StoreKind kind = StoreKind::Memory;
  SUBCASE("memory store") {
    kind = StoreKind::Memory;
  }
  SUBCASE("redis store") {
    kind = StoreKind::Redis;
  }
  return kind;
}

StoreUnderTest::StoreUnderTest(StoreKind kind) {
  if (kind == StoreKind::Memory) return;
  redis_ = std::make_unique<RedisServer>();
  config_ = redis_->storeConfig();
}

uint16_t StoreUnderTest::port(Proxy& proxy) const {
  return redis_ ? portOnceRedisConnected(proxy) : proxy.port("web");
}

uint16_t portOnceRedisConnected(Proxy& proxy) {
  // One worker, one connection (ledgerYaml configs have one worker).
  REQUIRE(proxy.process().waitForText("idempotency store: connected to redis"));
  return proxy.port("web");
}

}  // namespace fulcrum::test
