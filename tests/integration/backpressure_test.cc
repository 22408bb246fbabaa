// A slow reader must not make the proxy buffer without bound: with the
// server not reading, the client soon cannot send any more, and the
// proxy's resident memory stays within a bound while 256 MiB are offered.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "support/configs.h"
#include "support/memory.h"
#include "support/net.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

constexpr size_t kOffered = 256 * 1024 * 1024;
// With the server not reading, what the client can push is what the kernel
// buffers on the way hold (a few MiB each) plus the proxy's cap.
constexpr size_t kMaxSentWhileStalled = 64 * 1024 * 1024;

}  // namespace

TEST_CASE("a server that does not read keeps the proxy's memory bounded") {
  capAsanQuarantineForChildren();
  const std::string payload = patternBytes(kOffered, 3);
  std::promise<void> start_reading;
  std::shared_future<void> may_read = start_reading.get_future().share();
  std::promise<bool> backend_ok;
  TcpBackend backend([&](int fd) {
    if (may_read.wait_for(kDeadline) != std::future_status::ready) return;
    std::string chunk;
    size_t offset = 0;
    bool same = true;
    for (;;) {
      chunk.clear();
      size_t want = std::min<size_t>(1 << 20, kOffered - offset);
      if (want == 0 || !readExactly(fd, chunk, want)) break;
      same = same && payload.compare(offset, want, chunk) == 0;
      offset += want;
    }
    std::string rest;
    backend_ok.set_value(same && offset == kOffered && readToEof(fd, rest) && rest.empty());
  });
  Proxy proxy(TcpConfig{.primaries = {backend.port()}, .workers = 1}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  const long baseline_kb = proxy.process().rssKb();
  REQUIRE(baseline_kb > 0);

  std::atomic<size_t> sent{0};
  std::atomic<long> peak_kb{baseline_kb};
  std::promise<void> stalled;
  std::thread sender([&] {
    bool reported_stall = false;
    auto until = std::chrono::steady_clock::now() + 3 * kDeadline;
    size_t next_sample = 0;
    while (sent < kOffered && std::chrono::steady_clock::now() < until) {
      pollfd writable{client.get(), POLLOUT, 0};
      // No room for a whole second: the pipe is full end to end.
      if (poll(&writable, 1, 1000) == 0) {
        if (!reported_stall) stalled.set_value();
        reported_stall = true;
        continue;
      }
      ssize_t n = send(client.get(), payload.data() + sent,
                       std::min<size_t>(1 << 20, kOffered - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
      if (sent >= next_sample) {
        peak_kb = std::max(peak_kb.load(), proxy.process().rssKb());
        next_sample += 8 << 20;
      }
    }
    if (!reported_stall) stalled.set_value();
    shutdown(client.get(), SHUT_WR);
  });

  REQUIRE(stalled.get_future().wait_for(3 * kDeadline) == std::future_status::ready);
  const size_t sent_while_stalled = sent;
  const long stalled_kb = proxy.process().rssKb();
  start_reading.set_value();
  sender.join();
  auto verdict = backend_ok.get_future();
  REQUIRE(verdict.wait_for(3 * kDeadline) == std::future_status::ready);

  MESSAGE("sent while stalled: " << sent_while_stalled << " bytes; rss baseline " << baseline_kb
                                 << " KiB, stalled " << stalled_kb << " KiB, peak "
                                 << peak_kb.load() << " KiB");
  CHECK(sent_while_stalled < kMaxSentWhileStalled);
  CHECK(stalled_kb - baseline_kb < kMaxProxyGrowthKb);
  CHECK(peak_kb - baseline_kb < kMaxProxyGrowthKb);
  CHECK(sent == kOffered);
  CHECK(verdict.get());
}
