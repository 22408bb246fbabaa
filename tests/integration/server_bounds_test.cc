// What a server or a client can make the proxy hold, and for how long.
// Each case has a misbehaving peer on the "bad" upstream (behind a circuit
// breaker of one request) and a well-behaved one on "good": while the fault
// lasts, other clients are served; once it is over, the breaker slot, the
// descriptors and the memory come back. Every wait has a deadline, every
// misbehaving peer stops by itself (a count, a deadline, or a Gate).
#include <dirent.h>
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <thread>

#include "support/http.h"
#include "support/memory.h"
#include "support/net.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr auto npos = std::string::npos;

// The misbehaving server: what it does depends on the request path.
struct BadServer {
  std::atomic<int> interim_sent{0};
  std::atomic<bool> head_cut_off{false};   // the proxy stopped taking the endless head
  std::atomic<bool> large_cut_off{false};  // ... the large response
  Gate release;                            // ends the handlers that hold
  TcpBackend server{[this](int fd) { serve(fd); }};

  void serve(int fd) {
    const std::string head = readHeadBytes(fd);
    const size_t end = head.find(' ', head.find(' ') + 1);
    const std::string path = head.substr(head.find(' ') + 1, end - head.find(' ') - 1);
    if (path == "/bad/endless-head") {
      if (!writeAll(fd, "HTTP/1.1 200 OK\r\nX-Big: ")) return;
      const std::string chunk(64 * 1024, 'a');
      for (int i = 0; i < 1024; ++i)  // 64 MiB at most
        if (!writeAll(fd, chunk, 10s)) {
          head_cut_off = true;
          return;
        }
    } else if (path.rfind("/bad/interim/", 0) == 0) {
      const int count = std::stoi(path.substr(13));
      for (int i = 0; i < count; ++i)
        if (!writeAll(fd, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")) return;
      writeAll(fd, httpResponse(200, "after " + std::to_string(count)));
    } else if (path == "/bad/drip") {
      // A 103 every 100 ms for up to 10 s, until the proxy hangs up.
      for (int i = 0; i < 100; ++i) {
        if (!writeAll(fd, "HTTP/1.1 103 Early Hints\r\n\r\n")) return;
        ++interim_sent;
        pollfd closed{fd, POLLRDHUP, 0};
        if (poll(&closed, 1, 100) > 0) return;
      }
    } else if (path == "/bad/large") {
      const size_t size = size_t{64} * 1024 * 1024;
      if (!writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n"))
        return;
      const std::string chunk(64 * 1024, 'x');
      for (size_t sent = 0; sent < size; sent += chunk.size())
        if (!writeAll(fd, chunk, 10s)) {
          large_cut_off = true;
          return;
        }
    } else {
      // /bad/hold and /bad/upload: no answer, and the body is not read.
      release.wait();
    }
  }
};

std::string config(uint16_t good, uint16_t bad, const std::string& listener_timeouts,
                   const std::string& bad_extra = "") {
  return "global:\n  workers: 1\n  log: { level: debug }\n  admin: { listen: 127.0.0.1:0 }\n"
         "listeners:\n"
         "  - name: web\n    listen: 127.0.0.1:0\n    protocol: http\n"
         "    timeouts: { " +
         listener_timeouts +
         " }\n"
         "    routes:\n"
         "      - { match: { path_prefix: /bad/ }, upstream: bad }\n"
         "      - { upstream: good }\n"
         "upstreams:\n"
         "  good:\n    servers:\n      - { address: 127.0.0.1:" +
         std::to_string(good) +
         " }\n"
         "  bad:\n    circuit_breaker: { max_requests: 1 }\n" +
         bad_extra + "    servers:\n      - { address: 127.0.0.1:" + std::to_string(bad) + " }\n";
}

// The final response, past any 1xx heads passed on before it.
std::optional<HttpMessage> finalResponse(Pending& request) {
  for (int i = 0; i < 200; ++i) {
    auto answer = request.response();
    if (!answer || answer->status >= 200) return answer;
  }
  return std::nullopt;
}

int openFds(pid_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (readdir(dir) != nullptr) ++count;
  closedir(dir);
  return count - 2;  // . and ..
}

struct Fixture {
  HttpBackend good{"good"};
  BadServer bad;
  std::unique_ptr<Proxy> proxy;
  int fds_before = 0;
  long rss_before = 0;

  void start(const std::string& listener_timeouts, const std::string& bad_extra = "") {
    proxy = std::make_unique<Proxy>(
        config(good.port(), bad.server.port(), listener_timeouts, bad_extra));
    // One request through "good" first: its pooled connection is part of
    // the baseline.
    CHECK(httpGet(port(), "/").status == 200);
    fds_before = openFds(proxy->process().pid());
    rss_before = proxy->process().rssKb();
  }
  uint16_t port() { return proxy->port("web"); }
  double rejections() {
    const std::string text = httpGet(proxy->adminPort(), "/metrics").body;
    return sample(
               text,
               "fulcrum_circuit_breaker_rejections_total{upstream=\"bad\",limit=\"max_requests\"}")
        .value_or(-1);
  }
  // The breaker's one request slot is free again: a request to "bad" is
  // admitted (it answers with 1xx then 200), not refused.
  bool slotFree() {
    auto answer = Pending(port(), "/bad/interim/0").response();
    return answer && answer->status == 200;
  }
  void requireRecovered() {
    CHECK(waitUntil([&] { return slotFree(); }, kDeadline));
    CHECK(httpGet(port(), "/").status == 200);
    CHECK(waitUntil([&] { return openFds(proxy->process().pid()) <= fds_before + 1; }, kDeadline));
    CHECK(proxy->process().rssKb() - rss_before < kMaxProxyGrowthKb);
  }
};

}  // namespace

TEST_CASE("bounds: a response head over the limit gets 502 at once and the server is hung up on") {
  Fixture f;
  f.start("client_send: 60s", "    limits: { headers: 16k }\n");
  Pending endless(f.port(), "/bad/endless-head");
  auto answer = endless.response();
  REQUIRE(answer);
  CHECK(answer->status == 502);
  CHECK(waitUntil([&] { return f.bad.head_cut_off.load(); }, kDeadline));
  f.requireRecovered();
}

TEST_CASE("bounds: at most limits.interim_responses 1xx heads per request") {
  Fixture f;
  f.start("client_send: 60s", "    limits: { interim_responses: 3 }\n");
  {
    Pending three(f.port(), "/bad/interim/3");  // kept alive until the end of this block
    auto within = finalResponse(three);
    REQUIRE(within);
    CHECK(within->status == 200);
    CHECK(within->body == "after 3");
  }
  Pending four(f.port(), "/bad/interim/4");
  auto over = finalResponse(four);
  REQUIRE(over);
  CHECK(over->status == 502);
  f.requireRecovered();
}

TEST_CASE("bounds: per_try_timeout is a deadline for the final head that 1xx heads do not extend") {
  Fixture f;
  f.start("client_send: 60s", "    timeouts: { response: 500ms }\n    retries: { attempts: 1 }\n");
  Pending drip(f.port(), "/bad/drip");
  // While the server drips, others are served.
  CHECK(httpGet(f.port(), "/").status == 200);
  auto answer = finalResponse(drip);
  REQUIRE(answer);
  CHECK(answer->status == 504);
  // The server was cut off long before its 100 heads (10 s) were through.
  CHECK(f.bad.interim_sent.load() < 50);
  f.requireRecovered();
}

TEST_CASE("bounds: a client that reads none of a large response is closed after client_send") {
  capAsanQuarantineForChildren();
  Fixture f;
  f.start("client_send: 1s");
  Pending stuck(f.port(), "/bad/large");  // never read until the end
  // The breaker's slot is held while the response waits for the client...
  CHECK(waitUntil([&] { return f.rejections() >= 0 && !f.slotFree(); }, kDeadline));
  CHECK(httpGet(f.port(), "/").status == 200);
  // ...and given back once client_send passed: the server is hung up on.
  CHECK(waitUntil([&] { return f.bad.large_cut_off.load(); }, kDeadline));
  const double refused = f.rejections();
  f.requireRecovered();
  CHECK(f.rejections() == refused);  // the recovery requests were admitted
  // The stuck client's connection was closed: what it can read ends.
  std::string rest;
  readToEof(stuck.fd.get(), rest);
  CHECK(rest.size() < size_t{64} * 1024 * 1024);
}

TEST_CASE("bounds: a trickled request body gets 408 after client_body_total") {
  Fixture f;
  f.start("client_body: 10s, client_body_total: 500ms");
  Fd client = connectLoopback(f.port());
  REQUIRE(writeAll(client.get(),
                   "POST /bad/hold HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  CHECK(httpGet(f.port(), "/").status == 200);  // others are served meanwhile
  // One byte every 100 ms (each within client_body) until the answer comes.
  HttpReader reader(client.get());
  std::optional<HttpMessage> answer;
  for (int i = 0; i < 100 && !answer; ++i) {
    writeAll(client.get(), "1\r\nx\r\n");
    answer = reader.response(false, 100ms);
  }
  REQUIRE(answer);
  CHECK(answer->status == 408);
  f.bad.release.release();
  f.requireRecovered();
}

TEST_CASE(
    "bounds: a server that takes no byte of a request body fails the attempt after "
    "upstream_send") {
  Fixture f;
  f.start("upstream_send: 300ms");
  Fd client = connectLoopback(f.port());
  const size_t body = size_t{32} * 1024 * 1024;  // more than every buffer on the way
  REQUIRE(writeAll(client.get(), "POST /bad/upload HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                     std::to_string(body) + "\r\n\r\n"));
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    const std::string chunk(64 * 1024, 'p');
    for (size_t sent = 0; sent < body; sent += chunk.size())
      if (!writeAll(client.get(), chunk, 10s)) break;
    writer_done = true;
  });
  CHECK(httpGet(f.port(), "/").status == 200);  // others are served meanwhile
  HttpReader reader(client.get());
  auto answer = reader.response();
  // Not the client's fault, and the POST may have reached the server
  // (unkeyed: its outcome is unknown, never retried).
  REQUIRE(answer);
  CHECK(answer->status == 502);
  CHECK(answer->field("X-Fulcrum-Outcome") == std::optional<std::string>("unknown"));
  shutdown(client.get(), SHUT_RDWR);
  writer.join();
  f.bad.release.release();
  f.requireRecovered();
}

TEST_CASE("bounds: timeouts.request bounds a whole request") {
  Fixture f;
  f.start("request: 400ms");
  Pending held(f.port(), "/bad/hold");
  CHECK(httpGet(f.port(), "/").status == 200);
  auto answer = held.response();
  REQUIRE(answer);
  CHECK(answer->status == 504);
  f.bad.release.release();
  f.requireRecovered();
}
