// Scrapes racing reloads: /metrics is rendered from counters that workers
// copy on their own threads, while a SIGHUP may switch them to a
// generation of another shape (listeners, upstreams and servers added and
// removed). Eight clients scrape while 100 reloads alternate a wide and a
// narrow config and requests flow; the proxy must not crash, every scrape
// must be valid exposition text, and counters of what both configs keep
// (listener "web", upstream "u0" and its server "keep") never go back.
// The scrapers run until the reloads are done (bounded by a count too);
// nothing here sleeps.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http.h"
#include "support/net.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr unsigned kWorkers = 2;
constexpr int kReloads = 100;
constexpr int kScrapers = 8;
constexpr int kMaxScrapesEach = 400;

std::string server(uint16_t port, const std::string& name) {
  return "      - { address: 127.0.0.1:" + std::to_string(port) + ", name: " + name + " }\n";
}

std::string head(const char* shape) {
  return std::string("# shape: ") + shape + "\nglobal:\n  workers: " + std::to_string(kWorkers) +
         "\n  log: { level: debug }\n  admin: { listen: 127.0.0.1:0 }\n";
}

// Three listeners, eight upstreams (one or two servers each), the kept server among others.
std::string wideConfig(uint16_t a, uint16_t b) {
  std::string out = head("wide");
  out +=
      "listeners:\n"
      "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: u0 }\n"
      "  - { name: side, listen: 127.0.0.2:0, protocol: http, upstream: u3 }\n"
      "  - { name: raw, listen: 127.0.0.3:0, protocol: tcp, upstream: u5 }\n"
      "upstreams:\n";
  for (int u = 7; u >= 0; --u) {  // another order than the narrow config's
    out += "  u" + std::to_string(u) + ":\n";
    if (u == 0)
      out += "    health_check: { type: tcp, interval: 100ms, timeout: 1s, rise: 1, fall: 2 }\n";
    out += "    servers:\n";
    if (u == 0) out += server(b, "gone") + server(a, "keep");
    for (int s = 0; s < u % 2 + 1 && u != 0; ++s)
      out += server(s % 2 ? a : b, "s" + std::to_string(s));
  }
  return out;
}

// One listener, one upstream with one server.
std::string narrowConfig(uint16_t a) {
  return head("narrow") +
         "listeners:\n"
         "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: u0 }\n"
         "upstreams:\n"
         "  u0:\n"
         "    health_check: { type: tcp, interval: 100ms, timeout: 1s, rise: 1, fall: 2 }\n"
         "    servers:\n" +
         server(a, "keep");
}

// One GET on a connection of its own; nullopt when anything failed. Safe
// off the test's main thread (no doctest assertions).
std::optional<HttpMessage> tryGet(uint16_t port, const std::string& path) {
  Fd fd = connectLoopback(port);
  if (fd.get() < 0) return std::nullopt;
  if (!writeAll(fd.get(),
                "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
    return std::nullopt;
  return HttpReader(fd.get()).response();
}

// Series that both configs keep: their counters must never go back.
bool kept(const std::string& series) {
  if (series.find("_total{") == std::string::npos && series.find("_count{") == std::string::npos)
    return false;
  if (series.find("listener=\"web\"") != std::string::npos &&
      series.find("upstream=\"u") == std::string::npos)
    return true;
  if (series.find("upstream=\"u0\"") == std::string::npos) return false;
  return series.find("server=") == std::string::npos ||
         series.find("server=\"keep\"") != std::string::npos;
}

// The text with every value taken out: scrapes of one shape differ only in
// values, which cannot make the exposition invalid.
std::string shapeOf(const std::string& text) {
  std::string shape;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    shape += line[0] == '#' ? line : line.substr(0, line.rfind(' '));
    shape += '\n';
    begin = end + 1;
  }
  return shape;
}

struct ScrapeLog {
  std::mutex mutex;
  std::map<std::string, std::string> by_shape;  // shape -> one text of it
  std::vector<std::string> problems;
  std::atomic<int> scrapes{0};

  void problem(std::string what) {
    std::lock_guard lock(mutex);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

void scrapeUntil(uint16_t admin, const std::atomic<bool>& done, ScrapeLog& log) {
  std::map<std::string, double> seen;
  for (int i = 0; i < kMaxScrapesEach && !done.load(); ++i) {
    auto answer = tryGet(admin, "/metrics");
    if (!answer || answer->status != 200) {
      log.problem("a scrape got no 200 answer");
      return;
    }
    ++log.scrapes;
    const std::string& text = answer->body;
    if (text.find("fulcrum_build_info") == std::string::npos)
      log.problem("a scrape lacks build_info");
    for (const auto& [series, value] : samples(text)) {
      if (!kept(series)) continue;
      auto before = seen.find(series);
      if (before != seen.end() && value < before->second)
        log.problem(series + " went back from " + std::to_string(before->second) + " to " +
                    std::to_string(value));
      seen[series] = value;
    }
    std::lock_guard lock(log.mutex);
    log.by_shape.emplace(shapeOf(text), text);
  }
}

}  // namespace

TEST_CASE(
    "reload: 100 reloads of other shapes while 8 clients scrape: no crash, valid text, "
    "kept counters never go back") {
  const auto promtool = findProgram("promtool");
  REQUIRE_MESSAGE(promtool.has_value(), "promtool (Debian package prometheus) is needed");
  HttpBackend a("a");
  HttpBackend b("b");
  const std::string wide = wideConfig(a.port(), b.port());
  const std::string narrow = narrowConfig(a.port());
  Proxy proxy(wide);
  const uint16_t web = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  // Health-checked servers take requests once their first probe passed.
  REQUIRE(waitUntil(
      [&] {
        auto answer = tryGet(web, "/warm");
        return answer && answer->status == 200;
      },
      kDeadline));

  std::atomic<bool> done{false};
  std::atomic<int> served{0};
  std::atomic<int> failed{0};
  ScrapeLog log;
  std::vector<std::thread> threads;
  for (int s = 0; s < kScrapers; ++s) threads.emplace_back([&] { scrapeUntil(admin, done, log); });
  // Requests keep the kept counters moving while the shape changes.
  threads.emplace_back([&] {
    for (int i = 0; i < 5000 && !done.load(); ++i) {
      auto answer = tryGet(web, "/pay");
      ++(answer && answer->status == 200 ? served : failed);
    }
  });
  Reloader reloader(proxy, kWorkers);
  int reloaded = 0;
  for (int r = 0; r < kReloads; ++r) {
    if (!reloader.succeeds(r % 2 == 0 ? narrow : wide)) break;
    ++reloaded;
  }
  done = true;
  for (auto& thread : threads) thread.join();

  CHECK(reloaded == kReloads);
  REQUIRE(proxy.process().running());
  CHECK(log.problems.empty());
  for (const auto& problem : log.problems) MESSAGE(problem);
  CHECK(log.scrapes.load() >= kScrapers);
  CHECK(served.load() > 0);
  CHECK(failed.load() == 0);

  // Both shapes (and any in between) were seen, and each is valid text.
  CHECK(log.by_shape.size() >= 2);
  TempDir dir;
  int checked = 0;
  for (const auto& entry : log.by_shape)
    requirePromtoolAccepts(*promtool, dir, "scrape" + std::to_string(checked++) + ".txt",
                           entry.second);
  // Still serving, on the last (wide) generation.
  CHECK(tryGet(proxy.port("web"), "/after").has_value());
}
