// Bodies stream: 100 MiB up and 100 MiB down through the proxy arrive
// intact while the proxy's resident memory stays far below the body size.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/memory.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

constexpr size_t kBody = 100 * 1024 * 1024;

// Reads `length` bytes in 1 MiB steps, comparing with `expected` and
// sampling the proxy's RSS along the way.
bool readAndCompare(int fd, const std::string& expected, size_t length, ChildProcess& proxy,
                    long& peak_kb) {
  size_t offset = 0;
  std::string chunk;
  while (offset < length) {
    chunk.clear();
    size_t want = std::min<size_t>(1 << 20, length - offset);
    if (!readExactly(fd, chunk, want)) return false;
    if (expected.compare(offset, want, chunk) != 0) return false;
    offset += want;
    if (offset % (8 << 20) == 0) peak_kb = std::max(peak_kb, proxy.rssKb());
  }
  return true;
}

}  // namespace

TEST_CASE("a 100 MiB upload streams to the server with bounded proxy memory") {
  capAsanQuarantineForChildren();
  const std::string payload = patternBytes(kBody, 5);
  std::atomic<bool> intact{false};
  TcpBackend server([&](int fd) {
    readHeadBytes(fd);
    std::string chunk;
    size_t offset = 0;
    bool same = true;
    while (offset < kBody) {
      chunk.clear();
      size_t want = std::min<size_t>(1 << 20, kBody - offset);
      if (!readExactly(fd, chunk, want)) break;
      same = same && payload.compare(offset, want, chunk) == 0;
      offset += want;
    }
    intact = same && offset == kBody;
    writeAll(fd, httpResponse(200, std::to_string(offset)));
  });
  Proxy proxy(HttpConfig{.servers = {server.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  const long baseline_kb = proxy.process().rssKb();
  long peak_kb = baseline_kb;
  std::thread sender([&] {
    std::string head =
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n";
    writeAll(client.get(), head);
    for (size_t offset = 0; offset < kBody; offset += 1 << 20) {
      if (!writeAll(client.get(), payload.data() + offset,
                    std::min<size_t>(1 << 20, kBody - offset)))
        break;
      // Sampled as the upload progresses.
      if (offset % (8 << 20) == 0) peak_kb = std::max(peak_kb, proxy.process().rssKb());
    }
  });
  HttpReader reader(client.get());
  auto response = reader.response(false, 3 * kDeadline);
  sender.join();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == std::to_string(kBody));
  CHECK(intact);
  MESSAGE("upload: rss baseline " << baseline_kb << " KiB, peak " << peak_kb << " KiB");
  CHECK(peak_kb - baseline_kb < kMaxProxyGrowthKb);
}

TEST_CASE("a 100 MiB download streams to the client with bounded proxy memory") {
  capAsanQuarantineForChildren();
  const std::string payload = patternBytes(kBody, 6);
  TcpBackend server([&](int fd) {
    HttpReader reader(fd);
    if (!reader.request()) return;
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n");
    writeAll(fd, payload, 3 * kDeadline);
  });
  Proxy proxy(HttpConfig{.servers = {server.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  long baseline_kb = proxy.process().rssKb();
  long peak_kb = baseline_kb;
  REQUIRE(writeAll(client.get(), "GET /download HTTP/1.1\r\nHost: t\r\n\r\n"));
  // Read the head by hand, then the body in steps while sampling.
  std::string head = readHeadBytes(client.get());
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(readAndCompare(client.get(), payload, kBody, proxy.process(), peak_kb));
  MESSAGE("download: rss baseline " << baseline_kb << " KiB, peak " << peak_kb << " KiB");
  CHECK(peak_kb - baseline_kb < kMaxProxyGrowthKb);
}
