// Memory bounds for tests that check the proxy never buffers a whole stream.
#pragma once

namespace fulcrum::test {

// How much the proxy's RSS may grow while a large stream passes through it.
// Two 256 KiB buffers per connection and libevent's chains are far below
// this; a proxy that buffered the stream would pass it at once. Under ASan,
// shadow memory adds more (its quarantine is capped by the call below).
#if defined(__SANITIZE_ADDRESS__)
constexpr long kMaxProxyGrowthKb = 96 * 1024;
#else
constexpr long kMaxProxyGrowthKb = 48 * 1024;
#endif

// ASan keeps up to 256 MiB of freed memory in quarantine by default, which
// would measure the sanitizer instead of the proxy: cap it for the children
// this test starts. Call before starting any thread. No-op without ASan.
void capAsanQuarantineForChildren();

}  // namespace fulcrum::test
