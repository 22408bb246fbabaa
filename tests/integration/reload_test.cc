// SIGHUP reload and SIGTERM drain through the real proxy on loopback, with
// support/reload.h's Reloader. Fake backends name themselves in
// X-Backend. Every wait has a deadline; load loops are bounded by a count
// and a deadline.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/memory.h"
#include "support/net.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr auto npos = std::string::npos;

// A second loopback address. A reload keeps a listener's sockets when its
// configured address is unchanged, so two listeners that must stay apart
// across a reload get different addresses: two "127.0.0.1:0" are the same
// address to it (see "reload: two listeners on port 0 ...").
constexpr const char* kOtherLoopback = "127.0.0.2";

// Connects to ip:port; an invalid Fd when refused or past the deadline.
Fd connectTo(const char* ip, uint16_t port, std::chrono::milliseconds deadline = kDeadline) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, ip, &address.sin_addr);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) return Fd();
    pollfd writable{fd.get(), POLLOUT, 0};
    if (poll(&writable, 1, static_cast<int>(deadline.count())) != 1) return Fd();
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return Fd();
  }
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

int countText(ChildProcess& process, const std::string& text) {
  int count = 0;
  for (const auto& line : process.lines()) count += line.find(text) != npos;
  return count;
}

// Index in process.lines() of the `n`-th line holding `text`, or -1.
long lineIndex(ChildProcess& process, const std::string& text, int n) {
  auto lines = process.lines();
  int seen = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find(text) != npos && ++seen == n) return static_cast<long>(i);
  return -1;
}

// A backend that names itself and counts what it answered.
struct NamedBackend {
  std::atomic<int> requests{0};
  HttpBackend http;

  explicit NamedBackend(const std::string& name)
      : http(name, [this, name](const HttpMessage&, int) {
          ++requests;
          return httpResponse(200, name, "X-Backend: " + name + "\r\n");
        }) {}
  uint16_t port() const { return http.port(); }
};

// Echoes until the client's FIN, then closes.
void echo(int fd) {
  std::string chunk;
  while (readExactly(fd, chunk, 1)) {
    if (!writeAll(fd, chunk)) return;
    chunk.clear();
  }
}

std::string serverLine(uint16_t port) {
  return "      - { address: 127.0.0.1:" + std::to_string(port) + " }\n";
}

std::string serverLabel(uint16_t port) {
  return "server 127.0.0.1:" + std::to_string(port);
}

// `count` GETs, each on a new connection: answers by X-Backend ("none" when
// no answer came, the status when it was not 200).
std::map<std::string, int> spread(uint16_t port, int count, const std::string& prefix = "/pay/") {
  std::map<std::string, int> seen;
  for (int i = 0; i < count; ++i) {
    auto response = callOnce(port, "GET", prefix + std::to_string(i));
    if (!response)
      seen["none"]++;
    else if (response->status != 200)
      seen[std::to_string(response->status)]++;
    else
      seen[response->field("X-Backend").value_or("?")]++;
  }
  return seen;
}

// The value of one sample line ("name{labels} value"), or -1 when absent.
double sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == npos) return -1;
  size_t start = at + series.size() + 2;
  return std::stod(metrics.substr(start, metrics.find('\n', start) - start));
}

std::string scrape(Proxy& proxy) {
  auto response = callOnce(proxy.adminPort(), "GET", "/metrics");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return "\n" + response->body;
}

std::string statusJson(Proxy& proxy) {
  auto response = callOnce(proxy.adminPort(), "GET", "/status.json");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return response->body;
}

// The "state" of the server at 127.0.0.1:port in /status.json, or "".
std::string stateOf(const std::string& json, uint16_t port) {
  size_t at = json.find("\"address\":\"127.0.0.1:" + std::to_string(port) + "\"");
  if (at == npos) return "";
  size_t start = json.find("\"state\":\"", at);
  if (start == npos) return "";
  start += 9;
  return json.substr(start, json.find('"', start) - start);
}

std::string serverSeries(const std::string& family, uint16_t port, const std::string& extra = "") {
  return family + "{upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(port) + "\"" + extra +
         "}";
}

// The load test: an HTTP listener "web" on upstream "pool" (the given
// servers) and a TCP listener "edge" (on the other loopback address) on
// upstream "echo". Random balancing: a client's picks cannot fall into
// step with another client's on a shared round-robin cursor, so every
// client reaches every server soon.
std::string loadYaml(const std::vector<uint16_t>& servers, uint16_t echo_port,
                     const std::string& pool_extra = "", unsigned workers = 2) {
  std::string out = "global: { workers: " + std::to_string(workers) +
                    ", log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
                    "listeners:\n"
                    "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
                    "  - { name: edge, listen: " +
                    std::string(kOtherLoopback) +
                    ":0, upstream: echo }\n"
                    "upstreams:\n  pool:\n    balance: random\n" +
                    pool_extra + "    servers:\n";
  for (uint16_t port : servers) out += serverLine(port);
  out += "  echo:\n    servers:\n" + serverLine(echo_port);
  return out;
}

// What one client thread of the load loop saw.
struct ClientStats {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> closed_by_proxy{0};           // "Connection: close" on a kept-alive connection
  std::array<std::atomic<int>, 3> by_backend{};  // a, b, c
  std::mutex mutex;
  std::vector<std::string> failures;  // the first few, for the report

  void fail(const std::string& what) {
    ++failed;
    std::lock_guard lock(mutex);
    if (failures.size() < 10) failures.push_back(what);
  }
  void saw(const std::string& backend) {
    ++ok;
    if (backend.size() == 1 && backend[0] >= 'a' && backend[0] <= 'c')
      ++by_backend[backend[0] - 'a'];
  }
  std::string report() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& failure : failures) out += failure + "; ";
    return out;
  }
};

// Stops the load threads and joins them however the test ends.
struct LoadThreads {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  ~LoadThreads() {
    stop = true;
    for (auto& thread : threads)
      if (thread.joinable()) thread.join();
  }
};

}  // namespace

TEST_CASE("reload: 20 reloads under load drop nothing and new servers get traffic at once") {
  NamedBackend a("a"), b("b"), c("c");
  TcpBackend echo_backend(echo);
  const std::string ab = loadYaml({a.port(), b.port()}, echo_backend.port());
  const std::string bc = loadYaml({b.port(), c.port()}, echo_backend.port());
  Proxy proxy(ab);
  const uint16_t web = proxy.port("web");
  const uint16_t edge = proxy.port("edge");
  Reloader reloader(proxy, 2);

  constexpr int kMaxIterations = 200000;
  const auto until = std::chrono::steady_clock::now() + 240s;
  ClientStats kept_alive, fresh, tcp;
  LoadThreads load;
  auto running = [&](int i) {
    return !load.stop && i < kMaxIterations && std::chrono::steady_clock::now() < until;
  };
  // One kept-alive connection for the whole test (a new one only after a failure).
  load.threads.emplace_back([&] {
    Fd client = connectLoopback(web, 5s);
    auto reader = std::make_unique<HttpReader>(client.get());
    for (int i = 0; running(i); ++i) {
      if (!client) {
        kept_alive.fail("connect failed");
        client = connectLoopback(web, 5s);
        reader = std::make_unique<HttpReader>(client.get());
        continue;
      }
      std::optional<HttpMessage> response;
      if (writeAll(client.get(), "GET /kept/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n",
                   5s))
        response = reader->response(false, 10s);
      if (!response || response->status != 200) {
        kept_alive.fail(response ? "status " + std::to_string(response->status)
                                 : "no answer on the kept-alive connection (request " +
                                       std::to_string(i) + ")");
        client = connectLoopback(web, 5s);
        reader = std::make_unique<HttpReader>(client.get());
        continue;
      }
      kept_alive.saw(response->field("X-Backend").value_or("?"));
      if (response->field("Connection").value_or("") == "close") {
        ++kept_alive.closed_by_proxy;
        client = connectLoopback(web, 5s);
        reader = std::make_unique<HttpReader>(client.get());
      }
    }
  });
  // A new connection for every request.
  load.threads.emplace_back([&] {
    for (int i = 0; running(i); ++i) {
      Fd client = connectLoopback(web, 5s);
      if (!client) {
        fresh.fail("connect refused or timed out");
        continue;
      }
      HttpReader reader(client.get());
      std::optional<HttpMessage> response;
      if (writeAll(
              client.get(),
              "GET /new/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
              5s))
        response = reader.response(false, 10s);
      if (!response || response->status != 200) {
        fresh.fail(response ? "status " + std::to_string(response->status) : "no answer");
        continue;
      }
      if (!reader.atEof(5s)) {
        fresh.fail("not closed after Connection: close");
        continue;
      }
      fresh.saw(response->field("X-Backend").value_or("?"));
    }
  });
  // TCP echo round trips, a new connection each.
  load.threads.emplace_back([&] {
    for (int i = 0; running(i); ++i) {
      Fd client = connectTo(kOtherLoopback, edge, 5s);
      if (!client) {
        tcp.fail("connect refused or timed out");
        continue;
      }
      const std::string ping = "ping " + std::to_string(i) + "\n";
      std::string pong, rest;
      if (!writeAll(client.get(), ping, 5s) || !readExactly(client.get(), pong, ping.size(), 5s) ||
          pong != ping) {
        tcp.fail("echo " + std::to_string(i) + " came back as '" + pong + "'");
        continue;
      }
      shutdown(client.get(), SHUT_WR);
      if (!readToEof(client.get(), rest, 5s) || !rest.empty()) {
        tcp.fail("no clean close after the echo");
        continue;
      }
      tcp.saw("-");
    }
  });
  REQUIRE(waitUntil([&] { return kept_alive.ok > 0 && fresh.ok > 0 && tcp.ok > 0; }, 10s));

  // A client thread that never reaches a newly added server (or a removed
  // server that keeps getting requests) is reported once, not again at
  // every reload.
  bool kept_alive_follows = true, fresh_follows = true, removed_rests = true;
  for (int k = 1; k <= 20; ++k) {
    const bool to_bc = k % 2 == 1;
    const size_t added = to_bc ? 2 : 0;  // c, then a, then c...
    CAPTURE(k);
    const int kept_before = kept_alive.by_backend[added];
    const int fresh_before = fresh.by_backend[added];
    const int tcp_before = tcp.ok;
    REQUIRE(reloader.succeeds(to_bc ? bc : ab));
    REQUIRE(nthText(proxy.process(), "configuration reloaded: 2 listener(s), 2 upstream(s)", k));
    if (fresh_follows) {
      fresh_follows = waitUntil([&] { return fresh.by_backend[added] > fresh_before; }, 5s);
      CHECK_MESSAGE(fresh_follows, "new connections never reached the server the reload added");
    }
    if (kept_alive_follows) {
      kept_alive_follows =
          waitUntil([&] { return kept_alive.by_backend[added] > kept_before; }, 5s);
      CHECK_MESSAGE(kept_alive_follows,
                    "new requests on a connection kept alive across the reload never reached the "
                    "server the reload added");
    }
    CHECK(waitUntil([&] { return tcp.ok > tcp_before; }, 5s));
    // Once the requests that were in flight at the switch are answered (each
    // client sends one at a time), the removed server gets no new ones.
    if (removed_rests) {
      const NamedBackend& removed = to_bc ? a : c;
      const int kept_mark = kept_alive.ok, fresh_mark = fresh.ok;
      REQUIRE(waitUntil([&] { return kept_alive.ok > kept_mark + 1 && fresh.ok > fresh_mark + 1; },
                        5s));
      const int removed_before = removed.requests;
      REQUIRE(waitUntil(
          [&] { return kept_alive.ok > kept_mark + 50 && fresh.ok > fresh_mark + 50; }, 10s));
      removed_rests = removed.requests == removed_before;
      CHECK_MESSAGE(removed_rests, "the server the reload removed still got new requests: "
                                       << removed.requests - removed_before);
    }
  }
  load.stop = true;
  for (auto& thread : load.threads) thread.join();

  CAPTURE(kept_alive.report());
  CAPTURE(fresh.report());
  CAPTURE(tcp.report());
  CHECK(kept_alive.failed == 0);
  CHECK(kept_alive.closed_by_proxy == 0);
  CHECK(fresh.failed == 0);
  CHECK(tcp.failed == 0);
  MESSAGE("requests: kept-alive " << kept_alive.ok.load() << ", new connections " << fresh.ok.load()
                                  << ", tcp echoes " << tcp.ok.load());
  // The listening sockets were kept: each listener was bound once.
  CHECK(countText(proxy.process(), "listener web (http) listening on") == 1);
  CHECK(countText(proxy.process(), "listener edge (tcp) listening on") == 1);
  CHECK(proxy.process().running());
}

TEST_CASE("reload: a bad configuration keeps the running one, its behaviour and its metrics") {
  NamedBackend a("a"), b("b"), c("c");
  auto yaml = [](const std::vector<uint16_t>& servers, const std::string& extra_listener) {
    std::string out =
        "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
        "listeners:\n"
        "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n" +
        extra_listener + "upstreams:\n  pool:\n    servers:\n";
    for (uint16_t port : servers) out += serverLine(port);
    return out;
  };
  Proxy proxy(yaml({a.port(), b.port()}, ""));
  const uint16_t web = proxy.port("web");
  Reloader reloader(proxy, 1);
  const std::string ok_200 =
      "fulcrum_http_requests_total{listener=\"web\",upstream=\"pool\",code=\"200\"}";
  const std::string failures = "fulcrum_config_reloads_total{result=\"failure\"}";
  const std::string successes = "fulcrum_config_reloads_total{result=\"success\"}";
  const std::string last_ok = "fulcrum_config_last_reload_successful";

  auto before = spread(web, 10);
  CHECK(before["a"] == 5);
  CHECK(before["b"] == 5);
  std::string metrics = scrape(proxy);
  CHECK(sample(metrics, failures) == 0);
  CHECK(sample(metrics, last_ok) == 1);

  // A flow mapping that never closes; the servers would be c only.
  REQUIRE(
      reloader.fails("global: { workers: 1\nlisteners: [ { name: web\n" + yaml({c.port()}, "")));
  auto located = proxy.process().waitForText("reload: " + proxy.configPath() + ":");
  REQUIRE(located);
  CAPTURE(*located);
  auto after_syntax = spread(web, 10);
  CHECK(after_syntax["a"] == 5);
  CHECK(after_syntax["b"] == 5);
  metrics = scrape(proxy);
  CHECK(sample(metrics, failures) == 1);
  CHECK(sample(metrics, successes) == 0);
  CHECK(sample(metrics, last_ok) == 0);
  CHECK(sample(metrics, ok_200) == 20);

  // Valid, but its new listener's port is held by this test (no
  // SO_REUSEPORT on it, so the proxy cannot share it).
  uint16_t taken = 0;
  Fd holder = listenLoopback(taken);
  REQUIRE(reloader.fails(
      yaml({c.port()}, "  - { name: extra, listen: 127.0.0.1:" + std::to_string(taken) +
                           ", protocol: http, upstream: pool }\n")));
  CHECK(proxy.process().waitForText("reload: listener extra: cannot listen: bind 127.0.0.1:" +
                                    std::to_string(taken)));
  auto after_bind = spread(web, 10);
  CHECK(after_bind["a"] == 5);
  CHECK(after_bind["b"] == 5);
  CHECK(c.requests == 0);
  metrics = scrape(proxy);
  CHECK(sample(metrics, failures) == 2);
  CHECK(sample(metrics, last_ok) == 0);
  CHECK(sample(metrics, ok_200) == 30);
  CHECK(sample(metrics, "fulcrum_upstream_servers{upstream=\"pool\"}") == 2);
  // Nothing of either file reached a worker.
  const ProxyProgress unchanged = readProgress(proxy);
  CHECK(unchanged.generation == kFirstGeneration);
  REQUIRE(unchanged.workers.size() == 1);
  for (const WorkerProgress& worker : unchanged.workers)
    CHECK(worker.generation == kFirstGeneration);

  REQUIRE(reloader.succeeds(yaml({b.port(), c.port()}, "")));
  auto after_good = spread(web, 10);
  CHECK(after_good["b"] == 5);
  CHECK(after_good["c"] == 5);
  metrics = scrape(proxy);
  CHECK(sample(metrics, failures) == 2);
  CHECK(sample(metrics, successes) == 1);
  CHECK(sample(metrics, last_ok) == 1);
}

TEST_CASE("reload: a server that was down is still down right after a reload, without a check") {
  NamedBackend a("a");
  uint16_t refused = 0;
  Fd refusing = refusingPort(refused);
  auto yaml = [&](bool with_other) {
    std::string out =
        "global: { workers: 1, log: { level: debug, access: stdout }, admin: { listen: "
        "127.0.0.1:0 } }\n"
        "listeners:\n  - name: web\n    listen: 127.0.0.1:0\n    protocol: http\n";
    out += with_other
               ? "    routes:\n      - { match: { path_prefix: /other/ }, upstream: other }\n"
                 "      - { upstream: pool }\n"
               : "    upstream: pool\n";
    out +=
        "upstreams:\n  pool:\n"
        "    health_check: { type: tcp, interval: 200ms, timeout: 150ms, fall: 1,"
        " jitter: 0%, initial_state: up }\n"
        "    servers:\n" +
        serverLine(a.port()) + serverLine(refused);
    if (with_other) out += "  other:\n    servers:\n" + serverLine(a.port());
    return out;
  };
  Proxy proxy(yaml(false));
  const uint16_t web = proxy.port("web");
  Reloader reloader(proxy, 1);
  REQUIRE(proxy.process().waitForText(serverLabel(refused) + " up -> down"));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  CHECK(spread(web, 10)["a"] == 10);

  REQUIRE(reloader.succeeds(yaml(true)));
  // Right after the reload, before any check of the new configuration could decide.
  std::string json = statusJson(proxy);
  CHECK(stateOf(json, refused) == "down");
  CHECK(stateOf(json, a.port()) == "up");
  std::string metrics = scrape(proxy);
  CHECK(sample(metrics, serverSeries("fulcrum_upstream_server_up", refused)) == 0);
  CHECK(sample(metrics, "fulcrum_upstream_healthy_servers{upstream=\"pool\"}") == 1);
  const double checks_failed =
      sample(metrics, serverSeries("fulcrum_health_checks_total", refused, ",result=\"failed\""));
  const long reloaded_at = lineIndex(proxy.process(), "configuration reloaded", 1);
  REQUIRE(reloaded_at >= 0);
  const uint64_t publications = readProgress(proxy).workers.at(0).host_set_updates;

  // The first requests after the reload: none tried the down server first.
  auto after = spread(web, 20, "/after/");
  CHECK(after["a"] == 20);
  REQUIRE(nthText(proxy.process(), "\"path\":\"/after/", 20));
  for (const auto& line : proxy.process().lines()) {
    if (line.find("\"path\":\"/after/") == npos) continue;
    CAPTURE(line);
    CHECK(line.find("\"attempts\":1") != npos);
  }
  CHECK(spread(web, 2, "/other/")["a"] == 2);  // the new route is live

  // The new configuration's checks run and agree: no transition is logged.
  REQUIRE(waitUntil(
      [&] {
        return sample(scrape(proxy), serverSeries("fulcrum_health_checks_total", refused,
                                                  ",result=\"failed\"")) > checks_failed;
      },
      5s));
  auto lines = proxy.process().lines();
  for (size_t i = static_cast<size_t>(reloaded_at); i < lines.size(); ++i) {
    if (lines[i].find(serverLabel(refused) + " ") == npos) continue;
    CAPTURE(lines[i]);
    CHECK(lines[i].find("down -> up") == npos);
    CHECK(lines[i].find("stays down") == npos);
    CHECK(lines[i].find("up -> down") == npos);
  }
  CHECK(readProgress(proxy).workers.at(0).host_set_updates >= publications);
  CHECK(stateOf(statusJson(proxy), refused) == "down");
}

TEST_CASE("reload: a server drained through the admin API stays drained") {
  NamedBackend a("a"), b("b");
  auto yaml = [&](bool with_other) {
    std::string out =
        "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0, token: " +
        kAdminToken +
        " } }\n"
        "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
        "upstreams:\n  pool:\n    servers:\n" +
        serverLine(a.port()) + serverLine(b.port());
    if (with_other) out += "  other:\n    servers:\n" + serverLine(b.port());
    return out;
  };
  Proxy proxy(yaml(false));
  const uint16_t web = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  Reloader reloader(proxy, 1);
  const std::string b_path = "/api/upstreams/pool/servers/127.0.0.1:" + std::to_string(b.port());

  auto drained = adminPost(admin, b_path + "/drain");
  REQUIRE(drained);
  CHECK(drained->status == 200);
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));
  CHECK(spread(web, 10)["a"] == 10);

  REQUIRE(reloader.succeeds(yaml(true)));
  CHECK(stateOf(statusJson(proxy), b.port()) == "drained");
  // The carried-over sets, one publication for each of the two upstreams.
  REQUIRE(waitForHostSetUpdates(proxy, 0, 3));
  CHECK(spread(web, 10)["a"] == 10);

  auto enabled = adminPost(admin, b_path + "/enable");
  REQUIRE(enabled);
  CHECK(enabled->status == 200);
  REQUIRE(waitForHostSetUpdates(proxy, 0, 4));
  CHECK(spread(web, 10)["b"] == 5);
}

TEST_CASE("reload: a removed listener stops accepting, its open connection finishes its request") {
  Gate gate;
  HttpBackend backend("slow", [&gate](const HttpMessage& request, int) {
    if (request.path == "/slow") gate.wait();
    return httpResponse(200, request.path, "X-Backend: slow\r\n");
  });
  auto yaml = [&](bool with_old) {
    std::string out =
        "global: { workers: 2, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
        "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n";
    if (with_old)
      out += "  - { name: old, listen: " + std::string(kOtherLoopback) +
             ":0, protocol: http, upstream: pool }\n";
    return out + "upstreams:\n  pool:\n    servers:\n" + serverLine(backend.port());
  };
  Proxy proxy(yaml(true));
  const uint16_t web = proxy.port("web");
  const uint16_t old = proxy.port("old");
  Reloader reloader(proxy, 2);

  Fd held = connectTo(kOtherLoopback, old);
  REQUIRE(held);
  REQUIRE(writeAll(held.get(), "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));

  REQUIRE(reloader.succeeds(yaml(false)));
  CHECK(proxy.process().waitForText("configuration reloaded: 1 listener(s)"));
  CHECK_FALSE(connectTo(kOtherLoopback, old, 2s));  // every worker closed its socket
  auto other = callOnce(web, "GET", "/fast");
  REQUIRE(other);
  CHECK(other->status == 200);

  gate.release();
  HttpReader reader(held.get());
  auto late = reader.response();
  REQUIRE(late);
  CHECK(late->status == 200);
  CHECK(late->body == "/slow");
}

TEST_CASE("reload: SIGTERM drains: Connection: close, the slow request finishes, exit 0") {
  Gate gate;
  HttpBackend backend("slow", [&gate](const HttpMessage& request, int) {
    if (request.path == "/slow") gate.wait();
    return httpResponse(200, request.path, "X-Backend: slow\r\n");
  });
  Proxy proxy(
      "global: { workers: 2, log: { level: debug }, drain_timeout: 30s,"
      " admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n" +
      serverLine(backend.port()));
  const uint16_t web = proxy.port("web");
  const uint16_t admin = proxy.adminPort();

  // A kept-alive connection: one request answered, and in the same write the
  // start of the next head, so the proxy holds it when the answer arrives.
  Fd kept = connectLoopback(web);
  REQUIRE(kept);
  REQUIRE(writeAll(kept.get(), "GET /first HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\n"));
  HttpReader kept_reader(kept.get());
  auto first = kept_reader.response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->field("Connection").value_or("") != "close");

  Fd slow = connectLoopback(web);
  REQUIRE(slow);
  REQUIRE(writeAll(slow.get(), "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));

  proxy.process().signal(SIGTERM);
  REQUIRE(
      proxy.process().waitForText("stopped accepting; waiting up to 30s for 2 open connection(s)"));
  auto healthz = callOnce(admin, "GET", "/healthz");
  REQUIRE(healthz);
  CHECK(healthz->status == 503);
  CHECK_FALSE(connectLoopback(web, 2s));

  // The next request on the kept-alive connection is answered, and closes it.
  REQUIRE(writeAll(kept.get(), "Host: t\r\n\r\n"));
  auto second = kept_reader.response();
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body == "/second");
  CHECK(second->field("Connection") == "close");
  CHECK(kept_reader.atEof());
  CHECK(proxy.process().running());  // the slow request still holds the drain

  gate.release();
  HttpReader slow_reader(slow.get());
  auto late = slow_reader.response();
  REQUIRE(late);
  CHECK(late->status == 200);
  // The proxy closes after it: the answer says so (RFC 9112, 9.6), or a
  // client may send its next request into the close.
  CHECK(late->field("Connection") == "close");
  CHECK(slow_reader.atEof());
  CHECK(proxy.process().waitExit() == 0);
  CHECK(proxy.process().waitForText("every connection finished"));
}

TEST_CASE("reload: 200 reloads do not grow memory, and the proxy exits 0 after them") {
  capAsanQuarantineForChildren();
  NamedBackend a("a"), b("b"), c("c");
  TcpBackend echo_backend(echo);
  // Health checks and outlier detection too: every generation builds its
  // monitor, checkers and detectors, and must free them.
  const std::string pool_extra =
      "    health_check: { type: tcp, interval: 500ms }\n"
      "    outlier_detection: { consecutive_5xx: 5 }\n";
  const std::string ab = loadYaml({a.port(), b.port()}, echo_backend.port(), pool_extra);
  const std::string bc = loadYaml({b.port(), c.port()}, echo_backend.port(), pool_extra);
  Proxy proxy(ab);
  const uint16_t web = proxy.port("web");
  const uint16_t edge = proxy.port("edge");
  Reloader reloader(proxy, 2);
  REQUIRE(proxy.process().waitForText(serverLabel(b.port()) + " down -> up"));

  // A kept-alive connection across the reloads, replaced every 10 of them.
  Fd kept;
  std::unique_ptr<HttpReader> kept_reader;
  auto traffic = [&](int k) {
    if (k % 10 == 0 || !kept) {
      kept = connectLoopback(web);
      kept_reader = std::make_unique<HttpReader>(kept.get());
    }
    REQUIRE(writeAll(kept.get(), "GET /kept HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = kept_reader->response();
    REQUIRE(response);
    CHECK(response->status == 200);
    auto fresh = spread(web, 2);
    CHECK(fresh["none"] == 0);
    Fd client = connectTo(kOtherLoopback, edge);
    REQUIRE(client);
    std::string pong;
    REQUIRE(writeAll(client.get(), "ping\n"));
    CHECK(readExactly(client.get(), pong, 5));
  };

  long after_20 = 0;
  for (int k = 1; k <= 200; ++k) {
    CAPTURE(k);
    REQUIRE(reloader.succeeds(k % 2 == 1 ? bc : ab));
    traffic(k);
    if (k == 20) after_20 = proxy.process().rssKb();
  }
  const long after_200 = proxy.process().rssKb();
#if defined(__SANITIZE_ADDRESS__)
  // Freed memory waits in ASan's quarantine (16 MiB, see memory.h) first,
  // and a quarantined block costs more than its bytes: its header and
  // redzone, and its shadow (an eighth). The proxy's freed blocks are
  // mostly small (1 KiB read chains), for which that is up to twice the
  // bytes. Measured: the RSS rises until the quarantine is full, by about
  // the 150th reload, and stays flat from there to the 500th.
  constexpr long kMaxGrowthKb = (16 * 2 + 4) * 1024;
#else
  constexpr long kMaxGrowthKb = 4 * 1024;
#endif
  MESSAGE("proxy RSS after 20 reloads " << after_20 << " KiB, after 200 " << after_200 << " KiB");
  CHECK(after_20 > 0);
  CHECK(after_200 - after_20 < kMaxGrowthKb);

  kept = Fd();
  proxy.process().signal(SIGTERM);
  // Under ASan, LeakSanitizer runs at exit and fails it if a generation leaked.
  CHECK(proxy.process().waitExit() == 0);
}

TEST_CASE("reload: two listeners on port 0 each keep their own socket") {
  NamedBackend a("a");
  TcpBackend echo_backend(echo);
  // Both listeners are configured as 127.0.0.1:0; the kernel gave each its own port.
  const std::string yaml =
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n"
      "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "  - { name: edge, listen: 127.0.0.1:0, upstream: echo }\n"
      "upstreams:\n  pool:\n    servers:\n" +
      serverLine(a.port()) + "  echo:\n    servers:\n" + serverLine(echo_backend.port());
  Proxy proxy(yaml);
  const uint16_t web = proxy.port("web");
  const uint16_t edge = proxy.port("edge");
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(yaml));

  auto answer = callOnce(web, "GET", "/");
  CHECK_MESSAGE(answer, "listener web no longer accepts on its port");
  if (answer) CHECK(answer->field("X-Backend") == "a");
  Fd client = connectLoopback(edge, 2s);
  REQUIRE(client);
  std::string pong;
  REQUIRE(writeAll(client.get(), "ping\n"));
  readExactly(client.get(), pong, 5, 5s);
  CHECK(pong == "ping\n");  // echoed by the TCP listener, not parsed as HTTP
}

TEST_CASE("reload: counters keep counting across a reload") {
  NamedBackend a("a");
  const std::string yaml =
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n" +
      serverLine(a.port());
  Proxy proxy(yaml);
  const uint16_t web = proxy.port("web");
  Reloader reloader(proxy, 1);
  const std::string ok_200 =
      "fulcrum_http_requests_total{listener=\"web\",upstream=\"pool\",code=\"200\"}";
  const std::string accepted = "fulcrum_downstream_connections_total{listener=\"web\"}";
  const std::string open = "fulcrum_downstream_connections_active{listener=\"web\"}";

  CHECK(spread(web, 5)["a"] == 5);
  // One connection stays open across the reload.
  Fd kept = connectLoopback(web);
  REQUIRE(kept);
  REQUIRE(writeAll(kept.get(), "GET /kept HTTP/1.1\r\nHost: t\r\n\r\n"));
  HttpReader reader(kept.get());
  REQUIRE(reader.response());
  std::string before = scrape(proxy);
  CHECK(sample(before, ok_200) == 6);
  CHECK(sample(before, accepted) == 6);
  // The proxy may end the last closed connection just after its answer.
  CHECK(waitUntil([&] { return sample(scrape(proxy), open) == 1; }, 5s));

  REQUIRE(reloader.succeeds(yaml));
  // No other client connection exists now.
  CHECK_MESSAGE(sample(scrape(proxy), open) == 1,
                "the connection open across the reload is not counted as open");
  REQUIRE(writeAll(kept.get(), "GET /kept HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(reader.response());
  CHECK(spread(web, 5)["a"] == 5);
  std::string after = scrape(proxy);
  CHECK(sample(after, ok_200) == 12);
  CHECK(sample(after, accepted) == 11);
}

TEST_CASE("reload: a drain after a reload applies to connections kept alive across it") {
  NamedBackend a("a"), b("b");
  const std::string yaml =
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0, token: " +
      kAdminToken +
      " } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n" +
      serverLine(a.port()) + serverLine(b.port());
  Proxy proxy(yaml);
  const uint16_t web = proxy.port("web");
  Reloader reloader(proxy, 1);

  Fd kept = connectLoopback(web);
  REQUIRE(kept);
  HttpReader reader(kept.get());
  auto ask = [&] {
    REQUIRE(writeAll(kept.get(), "GET /kept HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    return response->field("X-Backend").value_or("?");
  };
  ask();
  REQUIRE(reloader.succeeds(yaml));
  REQUIRE(waitForHostSetUpdates(proxy, 0, 1));  // the carried-over sets

  auto drained =
      adminPost(proxy.adminPort(),
                "/api/upstreams/pool/servers/127.0.0.1:" + std::to_string(b.port()) + "/drain");
  REQUIRE(drained);
  CHECK(drained->status == 200);
  REQUIRE(waitForHostSetUpdates(proxy, 0, 2));
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) seen[ask()]++;
  CHECK(seen["a"] == 10);
  CHECK(spread(web, 4)["a"] == 4);  // new connections already did
}
