// fulcrum --takeover: a new process takes the listening sockets over from
// the running one (global.takeover_socket), which drains and exits, under
// a bounded load of keep-alive, new-connection, TLS and TCP clients.
//
// What counts as a failure: a connect refused or reset, a reset at any
// point, a request without its whole response, a TCP echo that does not
// come back whole. What does not: the proxy closing a kept-alive connection
// (a FIN, no byte of a response) when the next request is sent: a client
// sends it again on a new connection, as browsers and HTTP libraries do.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "support/http.h"
#include "support/net.h"
#include "support/process.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "support/tls_client.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

constexpr const char* kTlsName = "api.example.com";

// `tls`: a tls mapping for a third listener, "secure"; empty: none.
std::string takeoverConfig(unsigned workers, const std::string& socket, uint16_t http_backend,
                           uint16_t echo_backend, const std::string& tls = "") {
  return "global: { workers: " + std::to_string(workers) +
         ", drain_timeout: 20s, takeover_socket: " + socket +
         ", log: { level: info }, admin: { listen: 127.0.0.1:0 } }\n"
         "listeners:\n"
         "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
         "  - { name: echo, listen: 127.0.0.1:0, upstream: echoes }\n" +
         (tls.empty() ? std::string()
                      : "  - { name: secure, listen: 127.0.0.1:0, protocol: http, upstream: pool, "
                        "tls: " +
                            tls + " }\n") +
         "upstreams:\n"
         "  pool: { servers: [ { address: 127.0.0.1:" +
         std::to_string(http_backend) +
         " } ] }\n"
         "  echoes: { servers: [ { address: 127.0.0.1:" +
         std::to_string(echo_backend) + " } ] }\n";
}

// The port of the line "<marker>127.0.0.1:PORT<end>" of `process`.
uint16_t loggedPort(ChildProcess& process, const std::string& marker, const std::string& end) {
  auto line = process.waitForText(marker);
  REQUIRE(line);
  const size_t stop = line->find(end);
  const size_t colon = line->rfind(':', stop);
  return static_cast<uint16_t>(std::stoi(line->substr(colon + 1, stop - colon - 1)));
}

// The started label of fulcrum_build_info, as the admin listener serves it.
std::string startedLabel(uint16_t admin) {
  for (const auto& [series, value] : scrapeSamples(admin)) {
    const std::string marker = "started=\"";
    if (series.rfind("fulcrum_build_info{", 0) != 0) continue;
    const size_t at = series.find(marker);
    if (at == std::string::npos) return "";
    return series.substr(at + marker.size(),
                         series.find('"', at + marker.size()) - at - marker.size());
  }
  return "";
}

void echo(int fd) {
  char buffer[4096];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0 || !writeAll(fd, buffer, static_cast<size_t>(got))) return;
  }
}

struct Tally {
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> resent{0};  // after a kept-alive connection's FIN
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> resets{0};
  std::mutex mutex;
  std::vector<std::string> problems;  // the first few, for the report

  void fail(const std::string& what, bool reset) {
    ++failed;
    if (reset) ++resets;
    std::lock_guard lock(mutex);
    if (problems.size() < 10) problems.push_back(what);
  }
};

enum class Read { Ok, CleanEof, Reset, Broken };

const char* readName(Read read) {
  switch (read) {
    case Read::Ok:
      return "ok";
    case Read::CleanEof:
      return "closed before any byte";
    case Read::Reset:
      return "reset";
    case Read::Broken:
      return "cut short or timed out";
  }
  return "?";
}

// Up to `wanted` more bytes into `buffer` (bounded by 10s).
Read readMore(int fd, std::string& buffer) {
  pollfd wait{fd, POLLIN, 0};
  if (poll(&wait, 1, 10000) <= 0) return Read::Broken;
  char chunk[4096];
  ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
  if (got < 0) return errno == ECONNRESET ? Read::Reset : Read::Broken;
  if (got == 0) return buffer.empty() ? Read::CleanEof : Read::Broken;
  buffer.append(chunk, static_cast<size_t>(got));
  return Read::Ok;
}

// One whole response with Content-Length; `close` when it says so.
Read readResponse(int fd, bool& close) {
  std::string buffer;
  size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const Read read = readMore(fd, buffer);
    if (read != Read::Ok) return read;
  }
  const std::string head = buffer.substr(0, head_end);
  if (head.rfind("HTTP/1.1 200", 0) != 0) return Read::Broken;
  close = head.find("Connection: close") != std::string::npos;
  const size_t field = head.find("Content-Length: ");
  if (field == std::string::npos) return Read::Broken;
  const size_t length = std::stoul(head.substr(field + 16));
  while (buffer.size() < head_end + 4 + length) {
    const Read read = readMore(fd, buffer);
    if (read != Read::Ok) return read == Read::CleanEof ? Read::Broken : read;
  }
  return Read::Ok;
}

bool sendAll(int fd, const std::string& bytes) {
  return send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

using Until = std::function<bool()>;

void keepAliveClient(uint16_t port, Tally& tally, const Until& stop) {
  Fd connection;
  bool reused = false;
  while (!stop()) {
    if (!connection) {
      connection = connectLoopback(port, 5s);
      if (!connection) {
        tally.fail(std::string("keep-alive connect: ") + std::strerror(errno), errno == ECONNRESET);
        continue;
      }
      reused = false;
    }
    bool close = false;
    const Read read = sendAll(connection.get(), "GET /ka HTTP/1.1\r\nHost: t\r\n\r\n")
                          ? readResponse(connection.get(), close)
                          : (errno == ECONNRESET || errno == EPIPE ? Read::Reset : Read::Broken);
    if (read == Read::Ok) {
      ++tally.ok;
      reused = true;
      if (close) connection = Fd();
    } else if (read == Read::CleanEof && reused) {
      ++tally.resent;  // the same request again, on a new connection
      connection = Fd();
    } else {
      tally.fail(std::string("keep-alive request: ") + readName(read), read == Read::Reset);
      connection = Fd();
    }
  }
}

void newConnectionClient(uint16_t port, Tally& tally, const Until& stop) {
  while (!stop()) {
    Fd connection = connectLoopback(port, 5s);
    if (!connection) {
      tally.fail(std::string("connect: ") + std::strerror(errno), errno == ECONNRESET);
      continue;
    }
    bool close = false;
    const Read read =
        sendAll(connection.get(), "GET /new HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            ? readResponse(connection.get(), close)
            : Read::Reset;
    if (read == Read::Ok)
      ++tally.ok;
    else
      tally.fail(std::string("new-connection request: ") + readName(read), read == Read::Reset);
  }
}

void tlsClient(uint16_t port, const std::string& ca, Tally& tally, const Until& stop) {
  while (!stop()) {
    TlsClient client(port, kTlsName, {ca});
    auto answer = client.exchange("GET /tls HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    if (answer && answer->status == 200)
      ++tally.ok;
    else
      tally.fail("tls request: " + client.error(), false);
  }
}

void tcpClient(uint16_t port, Tally& tally, const Until& stop) {
  for (uint64_t n = 0; !stop(); ++n) {
    Fd connection = connectLoopback(port, 5s);
    if (!connection) {
      tally.fail(std::string("tcp connect: ") + std::strerror(errno), errno == ECONNRESET);
      continue;
    }
    Read read = Read::Ok;
    for (int round = 0; round < 3 && read == Read::Ok; ++round) {
      const std::string line = "ping " + std::to_string(n) + "." + std::to_string(round) + "\n";
      if (!sendAll(connection.get(), line)) {
        read = Read::Reset;
        break;
      }
      std::string back;
      while (read == Read::Ok && back.size() < line.size()) read = readMore(connection.get(), back);
      if (read == Read::Ok && back != line) read = Read::Broken;
    }
    if (read == Read::Ok)
      ++tally.ok;
    else
      tally.fail(std::string("tcp echo: ") + readName(read), read == Read::Reset);
  }
}

}  // namespace

TEST_CASE("takeover: 5 hand-overs under load: no failed request, no reset") {
  TempDir dir;
  const std::string socket = dir.path() + "/fulcrum.sock";
  HttpBackend backend("b1");
  TcpBackend echo_backend(echo);
  TestPki pki;
  const std::string tls = tlsMapping(pki.issue("api", {kTlsName}));
  // Worker counts change across hand-overs: a process takes every socket
  // of the previous one, more than one per worker when it has fewer.
  const std::vector<unsigned> workers = {2, 3, 1, 2, 1, 2};
  std::vector<std::unique_ptr<ChildProcess>> processes;
  auto configFor = [&](size_t k) {
    return dir.write("fulcrum-" + std::to_string(k) + ".yaml",
                     takeoverConfig(workers[k], socket, backend.port(), echo_backend.port(), tls));
  };
  processes.push_back(
      std::make_unique<ChildProcess>(std::vector<std::string>{FULCRUM_BINARY, "-c", configFor(0)}));
  const uint16_t web = loggedPort(*processes[0], "listener web (", " -> ");
  const uint16_t tcp = loggedPort(*processes[0], "listener echo (", " -> ");
  const uint16_t secure = loggedPort(*processes[0], "listener secure (", " -> ");
  const uint16_t admin = loggedPort(*processes[0], "admin listener listening on ", " (/metrics");
  REQUIRE(processes[0]->waitForText("takeover socket listening on " + socket));

  Tally tally;
  std::atomic<bool> stopping{false};
  const auto until = std::chrono::steady_clock::now() + 120s;
  const Until stop = [&] { return stopping.load() || std::chrono::steady_clock::now() > until; };
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) clients.emplace_back([&] { keepAliveClient(web, tally, stop); });
  for (int i = 0; i < 8; ++i) clients.emplace_back([&] { newConnectionClient(web, tally, stop); });
  clients.emplace_back([&] { tcpClient(tcp, tally, stop); });
  clients.emplace_back([&] { tlsClient(secure, pki.ca(), tally, stop); });

  std::vector<std::string> started = {startedLabel(admin)};
  CHECK_FALSE(started[0].empty());
  for (size_t k = 1; k < workers.size(); ++k) {
    // The serving process has served some of the load.
    const uint64_t served = tally.ok.load();
    REQUIRE(waitUntil([&] { return tally.ok.load() >= served + 200; }, 30s));
    REQUIRE(sumSeries(scrapeSamples(admin), "fulcrum_http_requests_total") > 0);
    ChildProcess& previous = *processes.back();
    processes.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{FULCRUM_BINARY, "-c", configFor(k), "--takeover", socket}));
    ChildProcess& next = *processes.back();
    INFO("hand-over " << k);
    REQUIRE(next.waitForText("takeover: serving"));
    // The same ports, now the new process's.
    CHECK(loggedPort(next, "listener web (", " -> ") == web);
    CHECK(loggedPort(next, "listener echo (", " -> ") == tcp);
    CHECK(loggedPort(next, "listener secure (", " -> ") == secure);
    CHECK(loggedPort(next, "admin listener listening on ", " (/metrics") == admin);
    CHECK(previous.waitForText("taken over by pid " + std::to_string(next.pid())));
    CHECK(previous.waitExit() == 0);
    started.push_back(startedLabel(admin));
    CHECK(started[k] != started[k - 1]);
  }
  const uint64_t served = tally.ok.load();
  REQUIRE(waitUntil([&] { return tally.ok.load() >= served + 200; }, 30s));
  stopping = true;
  for (auto& client : clients) client.join();

  {
    std::lock_guard lock(tally.mutex);
    for (const auto& problem : tally.problems) MESSAGE(problem);
  }
  MESSAGE("answered " << tally.ok.load() << ", sent again after a keep-alive close "
                      << tally.resent.load());
  CHECK(tally.failed.load() == 0);
  CHECK(tally.resets.load() == 0);
  processes.back()->signal(SIGTERM);
  CHECK(processes.back()->waitExit() == 0);
}

TEST_CASE("takeover: without a process serving the socket fulcrum exits 3 and binds nothing") {
  TempDir dir;
  HttpBackend backend("b1");
  const std::string path =
      dir.write("fulcrum.yaml", takeoverConfig(1, dir.path() + "/other.sock", backend.port(), 9));
  ChildProcess process({FULCRUM_BINARY, "-c", path, "--takeover", dir.path() + "/none.sock"});
  CHECK(process.waitExit() == 3);
  process.joinOutput();
  CHECK(process.waitForText("takeover from " + dir.path() + "/none.sock failed: connect"));
  CHECK_FALSE(process.waitForText("listening on", 0ms));
}

TEST_CASE("takeover: a configuration with errors exits 1 and leaves the running process alone") {
  TempDir dir;
  HttpBackend backend("b1");
  const std::string socket = dir.path() + "/fulcrum.sock";
  ChildProcess running(
      {FULCRUM_BINARY, "-c", dir.write("good.yaml", takeoverConfig(1, socket, backend.port(), 9))});
  REQUIRE(running.waitForText("takeover socket listening on"));
  const uint16_t web = loggedPort(running, "listener web (", " -> ");
  ChildProcess bad({FULCRUM_BINARY, "-c", dir.write("bad.yaml", "global: { workers: none }\n"),
                    "--takeover", socket});
  CHECK(bad.waitExit() == 1);
  CHECK_FALSE(running.waitForText("takeover: listening sockets sent", 0ms));
  CHECK(httpGet(web, "/").status == 200);
  running.signal(SIGTERM);
  CHECK(running.waitExit() == 0);
}
