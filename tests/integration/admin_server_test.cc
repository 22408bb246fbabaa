// The admin listener (src/admin), in process: an AdminServer on an EventLoop
// run by a thread of its own, a fake ProxyControl, and raw HTTP/1.1 over loopback
// from the test thread. The fake answers /metrics only when the test says
// so, to exercise the asynchronous reply and the client that leaves before
// it.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <csignal>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_server.h"
#include "admin/gzip.h"
#include "admin/proxy_control.h"
#include "admin/request_parts.h"
#include "admin/status_json.h"
#include "admin/status_page.h"
#include "net/event_loop.h"
#include "support/http.h"
#include "support/json.h"
#include "support/net.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum;
using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kToken = "s3cret-token-0123456789";
constexpr const char* kMetricsText =
    "# HELP fulcrum_build_info Build.\n# TYPE fulcrum_build_info gauge\n"
    "fulcrum_build_info{version=\"0.1.0\"} 1\n";

struct DrainCall {
  std::string upstream, server;
  bool drained;
};

// Answers from a fixed snapshot; records every call. Called on the loop
// thread; read by the test thread under the mutex.
class FakeProxy : public admin::ProxyControl {
 public:
  FakeProxy() { snapshot_ = sampleStatus(); }

  static admin::Status sampleStatus() {
    admin::Status status;
    status.version = "0.1.0";
    status.uptime_seconds = 3723.5;
    status.generation = 3;
    status.workers = {{3, 12}, {2, 9}};  // worker 1 has not switched yet
    status.listeners = {{"web", "http", "127.0.0.1:8080", 3}, {"db", "tcp", "[::1]:5432", 0}};
    admin::UpstreamStatus pool{"pool", "round_robin", {}, 1};
    admin::ServerStatus first;
    first.name = "127.0.0.1:9001";
    first.address = "127.0.0.1:9001";
    first.state = "up";
    first.usable = true;
    first.check = "passed";
    first.active_requests = 7;
    first.last_transition = "down -> up: 2 consecutive successes";
    first.last_transition_seconds_ago = 4.2;
    admin::ServerStatus second;
    second.name = "b2";
    second.address = "127.0.0.1:9002";
    second.weight = 3;
    second.state = "down";
    second.check = "connect refused";
    second.last_transition = "up -> down: 3 consecutive failures: connect refused";
    second.last_transition_seconds_ago = 61;
    admin::ServerStatus third;
    third.name = "spare";
    third.address = "127.0.0.1:9003";
    third.backup = true;
    third.state = "drained";
    third.admin_drain = true;
    third.check = "not checked yet";
    pool.servers = {first, second, third};
    admin::UpstreamStatus odd{"odd<&>\"pool\"", "maglev", {}, 0};
    admin::ServerStatus weird;
    weird.name = "<script>alert(1)</script>";
    weird.address = "10.0.0.9:80";
    weird.state = "ejected";
    weird.ejected = true;
    weird.check = "body lacks \"ok\"\n";
    weird.ramp_percent = 40;
    odd.servers = {weird};
    status.upstreams = {pool, odd};
    return status;
  }

  void collectMetrics(std::function<void(std::string text)> done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++collect_calls_;
    if (answer_at_once_) {
      done(kMetricsText);
      return;
    }
    waiting_.push_back(std::move(done));
  }
  bool draining() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return draining_;
  }
  admin::Status status() override {
    std::lock_guard<std::mutex> lock(mutex_);
    admin::Status status = snapshot_;
    status.draining = draining_;
    return status;
  }
  admin::DrainResult setAdminDrain(const std::string& upstream, const std::string& server,
                                   bool drained) override {
    std::lock_guard<std::mutex> lock(mutex_);
    drain_calls_.push_back({upstream, server, drained});
    for (admin::UpstreamStatus& u : snapshot_.upstreams) {
      if (u.name != upstream) continue;
      for (admin::ServerStatus& s : u.servers) {
        if (s.name != server) continue;
        s.admin_drain = drained;
        return admin::DrainResult::Ok;
      }
      return admin::DrainResult::NoServer;
    }
    return admin::DrainResult::NoUpstream;
  }

  void setDraining(bool draining) {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = draining;
  }
  void setAnswerAtOnce(bool at_once) {
    std::lock_guard<std::mutex> lock(mutex_);
    answer_at_once_ = at_once;
  }
  size_t waitingMetrics() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_.size();
  }
  int collectCalls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return collect_calls_;
  }
  // The oldest `done`; call it on the loop thread.
  std::function<void(std::string)> takeDone() {
    std::lock_guard<std::mutex> lock(mutex_);
    auto done = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    return done;
  }
  std::vector<DrainCall> drainCalls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return drain_calls_;
  }

 private:
  mutable std::mutex mutex_;
  admin::Status snapshot_;
  bool draining_ = false;
  bool answer_at_once_ = false;
  int collect_calls_ = 0;
  std::vector<std::function<void(std::string)>> waiting_;
  std::vector<DrainCall> drain_calls_;
};

SocketAddress loopbackAddress(uint16_t port) {
  SocketAddress address;
  std::string why;
  REQUIRE(parseSocketAddress("127.0.0.1:" + std::to_string(port), address, why));
  return address;
}

// The server on a loop thread. The server is made and destroyed while the
// loop does not run; everything in between happens on the loop thread.
class AdminHarness {
 public:
  explicit AdminHarness(admin::AccessPolicy policy = {kToken, {}, false}) {
    std::signal(SIGPIPE, SIG_IGN);    // as fulcrum's main does
    net::EventLoop::enableThreads();  // the test thread post()s to the loop
    loop_ = std::make_unique<net::EventLoop>();
    server_ = std::make_unique<admin::AdminServer>(*loop_, proxy, refusals_);
    std::string why;
    REQUIRE_MESSAGE(server_->listen(loopbackAddress(0), std::move(policy), why), why);
    port = server_->bound().port();
    REQUIRE(port != 0);
    thread_ = std::thread([this] { loop_->run(); });
  }
  ~AdminHarness() {
    loop_->post([this] { loop_->stop(); });
    thread_.join();
    server_.reset();
    loop_.reset();
  }

  // Runs `task` on the loop thread and waits for it.
  template <typename Task>
  auto onLoop(Task task) -> decltype(task()) {
    std::packaged_task<decltype(task())()> packaged(std::move(task));
    auto result = packaged.get_future();
    loop_->post([&packaged] { packaged(); });
    return result.get();
  }

  size_t pendingMetrics() {
    return onLoop([this] { return server_ ? server_->pendingRepliesForTest() : size_t{0}; });
  }
  size_t openConnections() {
    return onLoop([this] { return server_ ? server_->openConnectionsForTest() : size_t{0}; });
  }
  // Calls the oldest waiting `done` on the loop thread.
  void answerMetrics(const std::string& text) {
    auto done = proxy.takeDone();
    onLoop([&] { done(text); });
  }
  void destroyServer() {
    onLoop([this] { server_.reset(); });
  }

  FakeProxy proxy;
  uint16_t port = 0;

 private:
  admin::RefusalCounts refusals_{};
  std::unique_ptr<net::EventLoop> loop_;
  std::unique_ptr<admin::AdminServer> server_;
  std::thread thread_;
};

std::string request(const std::string& method, const std::string& path,
                    const std::string& extra_fields = "", bool keep_alive = false) {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  if (method == "POST") out += "Content-Length: 0\r\n";
  return out + extra_fields + "\r\n";
}

// One request on a fresh connection and its response.
HttpMessage roundTrip(uint16_t port, const std::string& raw, bool head = false) {
  Fd fd = connectLoopback(port);
  REQUIRE(fd);
  REQUIRE(writeAll(fd.get(), raw));
  HttpReader reader(fd.get());
  auto response = reader.response(head);
  REQUIRE(response);
  return *response;
}

// What an /api call needs.
const std::string kAuthorized =
    std::string("Authorization: Bearer ") + kToken + "\r\nContent-Type: application/json\r\n";

HttpMessage post(uint16_t port, const std::string& path, const std::string& extra = kAuthorized) {
  return roundTrip(port, request("POST", path, extra));
}

std::string field(const HttpMessage& message, const std::string& name) {
  return message.field(name).value_or("<absent>");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("admin server: /healthz answers ok while serving and 503 draining while draining") {
  AdminHarness admin;
  HttpMessage serving = httpGet(admin.port, "/healthz");
  CHECK(serving.status == 200);
  CHECK(serving.body == "ok\n");
  CHECK(field(serving, "Content-Type") == "text/plain; charset=utf-8");

  admin.proxy.setDraining(true);
  HttpMessage draining = httpGet(admin.port, "/healthz");
  CHECK(draining.status == 503);
  CHECK(draining.body == "draining\n");

  HttpMessage head = roundTrip(admin.port, request("HEAD", "/healthz"), /*head=*/true);
  CHECK(head.status == 503);
}

TEST_CASE("admin server: /metrics answers when the proxy's done runs later") {
  AdminHarness admin;
  Fd fd = connectLoopback(admin.port);
  REQUIRE(fd);
  REQUIRE(writeAll(fd.get(), request("GET", "/metrics")));
  REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
  CHECK(admin.pendingMetrics() == 1);

  admin.answerMetrics(kMetricsText);
  HttpReader reader(fd.get());
  auto response = reader.response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(field(*response, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(response->count("Content-Encoding") == 0);
  CHECK(response->body == kMetricsText);
  CHECK(admin.pendingMetrics() == 0);
}

TEST_CASE("admin server: /metrics answers at once when done runs inside collectMetrics") {
  AdminHarness admin;
  admin.proxy.setAnswerAtOnce(true);
  HttpMessage response = httpGet(admin.port, "/metrics");
  CHECK(response.status == 200);
  CHECK(response.body == kMetricsText);
  CHECK(admin.pendingMetrics() == 0);
}

TEST_CASE("admin server: /metrics is gzip-compressed when Accept-Encoding has gzip") {
  AdminHarness admin;
  admin.proxy.setAnswerAtOnce(true);

  HttpMessage gzipped = httpGet(admin.port, "/metrics", "Accept-Encoding: deflate, gzip;q=0.8\r\n");
  CHECK(gzipped.status == 200);
  CHECK(field(gzipped, "Content-Encoding") == "gzip");
  CHECK(field(gzipped, "Vary") == "Accept-Encoding");
  CHECK(field(gzipped, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(gunzip(gzipped.body) == kMetricsText);

  HttpMessage refused = httpGet(admin.port, "/metrics", "Accept-Encoding: gzip;q=0, br\r\n");
  CHECK(refused.count("Content-Encoding") == 0);
  CHECK(refused.body == kMetricsText);

  HttpMessage plain = httpGet(admin.port, "/metrics", "Accept-Encoding: identity\r\n");
  CHECK(plain.count("Content-Encoding") == 0);
  CHECK(plain.body == kMetricsText);
}

TEST_CASE("admin server: a client that leaves before the metrics arrive does not crash it") {
  AdminHarness admin;
  SUBCASE("it closes") {
    Fd fd = connectLoopback(admin.port);
    REQUIRE(writeAll(fd.get(), request("GET", "/metrics", "Accept-Encoding: gzip\r\n")));
    REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
    fd = Fd();
  }
  SUBCASE("it resets the connection") {
    Fd fd = connectLoopback(admin.port);
    REQUIRE(writeAll(fd.get(), request("GET", "/metrics", "", /*keep_alive=*/true)));
    REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
    linger abort_on_close{1, 0};
    REQUIRE(setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close)) ==
            0);
    fd = Fd();
  }
  // Whether libevent noticed the close yet or not, the late answer is safe.
  admin.answerMetrics(kMetricsText);
  REQUIRE(waitUntil([&] { return admin.pendingMetrics() == 0; }, 10s));

  // The server still serves.
  admin.proxy.setAnswerAtOnce(true);
  HttpMessage after = httpGet(admin.port, "/metrics");
  CHECK(after.status == 200);
  CHECK(after.body == kMetricsText);
}

TEST_CASE("admin server: destroyed with a metrics request pending, a late done does nothing") {
  AdminHarness admin;
  Fd fd = connectLoopback(admin.port);
  REQUIRE(writeAll(fd.get(), request("GET", "/metrics")));
  REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
  SUBCASE("the client is still there") {}
  SUBCASE("the client left") {
    fd = Fd();
  }

  admin.destroyServer();
  if (fd) CHECK(closedByPeer(fd.get(), 10s));
  admin.answerMetrics(kMetricsText);  // the server is gone: nothing to answer
}

TEST_CASE("admin server: a connection counts against the cap until it closes, however it ends") {
  AdminHarness admin;
  std::vector<Fd> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(connectLoopback(admin.port));
  REQUIRE(waitUntil([&] { return admin.openConnections() == 3; }, 10s));
  // Answered and closed by the server (Connection: close).
  CHECK(roundTrip(admin.port, request("GET", "/healthz")).status == 200);
  // Kept alive, then closed by the client while its /metrics is pending.
  {
    Fd leaving = connectLoopback(admin.port);
    REQUIRE(writeAll(leaving.get(), request("GET", "/metrics", "", /*keep_alive=*/true)));
    REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
    CHECK(admin.openConnections() == 4);
  }
  // Whether libevent noticed the close yet or not, the answer ends it.
  admin.answerMetrics(kMetricsText);
  REQUIRE(waitUntil([&] { return admin.pendingMetrics() == 0; }, 10s));
  // Reset by the client.
  linger abort_on_close{1, 0};
  REQUIRE(setsockopt(idle[0].get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                     sizeof(abort_on_close)) == 0);
  idle.clear();
  CHECK(waitUntil([&] { return admin.openConnections() == 0; }, 10s));
}

TEST_CASE("admin server: keep-alive connections serve one request after another") {
  AdminHarness admin;
  Fd fd = connectLoopback(admin.port);
  REQUIRE(fd);
  HttpReader reader(fd.get());
  REQUIRE(writeAll(fd.get(), request("GET", "/metrics", "", /*keep_alive=*/true)));
  REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
  admin.answerMetrics("first\n");
  auto first = reader.response();
  REQUIRE(first);
  CHECK(first->body == "first\n");

  REQUIRE(writeAll(fd.get(), request("GET", "/metrics", "", /*keep_alive=*/true)));
  REQUIRE(waitUntil([&] { return admin.proxy.waitingMetrics() == 1; }, 10s));
  admin.answerMetrics("second\n");
  auto second = reader.response();
  REQUIRE(second);
  CHECK(second->body == "second\n");

  REQUIRE(writeAll(fd.get(), request("GET", "/healthz")));
  auto third = reader.response();
  REQUIRE(third);
  CHECK(third->body == "ok\n");
  CHECK(reader.atEof(10s));
  CHECK(admin.proxy.collectCalls() == 2);
}

TEST_CASE("admin server: /status lists every listener, upstream and server with its state") {
  AdminHarness admin;
  HttpMessage page = httpGet(admin.port, "/status");
  CHECK(page.status == 200);
  CHECK(field(page, "Content-Type") == "text/html; charset=utf-8");
  CHECK(contains(field(page, "Content-Security-Policy"), "default-src 'none'"));
  const std::string& html = page.body;
  CHECK(contains(html, "<!doctype html>"));

  const admin::Status status = FakeProxy::sampleStatus();
  for (const auto& listener : status.listeners) {
    CHECK(contains(html, "<td>" + listener.name + "</td>"));
    CHECK(contains(html, "<td>" + listener.protocol + "</td>"));
    CHECK(contains(html, "<td>" + listener.address + "</td>"));
  }
  CHECK(contains(html, "<td class=\"num\">3</td>"));  // web's active connections
  CHECK(contains(html, "Upstream pool"));
  CHECK(contains(html, "round_robin"));
  CHECK(contains(html, "1/3 usable"));
  CHECK(contains(html, "<td>127.0.0.1:9001</td>"));
  CHECK(contains(html, "<td>b2</td>"));
  CHECK(contains(html, "<td>spare</td>"));
  CHECK(contains(html, "<span class=\"state state-up\">up</span>"));
  CHECK(contains(html, "<span class=\"state state-down\">down</span>"));
  CHECK(contains(html, "<span class=\"state state-drained\">drained</span>"));
  CHECK(contains(html, "<span class=\"state state-ejected\">ejected</span>"));
  CHECK(contains(html, "<td class=\"num\">3</td>"));           // b2's weight
  CHECK(contains(html, "<td class=\"num\">1 (backup)</td>"));  // spare
  CHECK(contains(html, "<td class=\"num\">7</td>"));           // active requests
  CHECK(contains(html, "<td class=\"num\">40%</td>"));         // ramp
  CHECK(contains(html, "<td>connect refused</td>"));
  CHECK(contains(html,
                 "<td>up -&gt; down: 3 consecutive failures: connect refused (1m 1s ago)</td>"));
  CHECK(contains(html, "<td>down -&gt; up: 2 consecutive successes (4s ago)</td>"));
  CHECK(contains(html, "up 1h 2m 3s"));
  CHECK(contains(html, "<span>serving</span>"));

  // Everything from the snapshot is escaped.
  CHECK(contains(html, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
  CHECK(contains(html, "Upstream odd&lt;&amp;&gt;&quot;pool&quot;"));
  CHECK(contains(html, "<td>body lacks &quot;ok&quot;\n</td>"));
  CHECK_FALSE(contains(html, "<script>alert"));

  // Self-contained: it refreshes from status.json every 2 s, loads nothing.
  CHECK(contains(html, "fetch('status.json'"));
  CHECK(contains(html, "setTimeout(refresh, 2000)"));
  CHECK_FALSE(contains(html, " src="));
  CHECK_FALSE(contains(html, "<link"));
  CHECK_FALSE(contains(html, "http://"));
  CHECK_FALSE(contains(html, "https://"));

  admin.proxy.setDraining(true);
  CHECK(contains(httpGet(admin.port, "/status").body, "<span class=\"draining\">draining</span>"));
}

TEST_CASE("admin server: /status.json parses and carries the status schema") {
  AdminHarness admin;
  HttpMessage response = httpGet(admin.port, "/status.json");
  CHECK(response.status == 200);
  CHECK(field(response, "Content-Type") == "application/json");
  Json json = parseJson(response.body);

  CHECK(json["version"].str() == "0.1.0");
  CHECK(json["uptime_seconds"].num() == doctest::Approx(3723.5));
  CHECK(json["draining"].boolean() == false);
  CHECK(json["generation"].num() == 3);
  REQUIRE(json["workers"].size() == 2);
  CHECK(json["workers"][0].size() == 2);
  CHECK(json["workers"][0]["generation"].num() == 3);
  CHECK(json["workers"][0]["host_set_updates"].num() == 12);
  CHECK(json["workers"][1]["generation"].num() == 2);
  CHECK(json["workers"][1]["host_set_updates"].num() == 9);
  REQUIRE(json["listeners"].size() == 2);
  CHECK(json["listeners"][0]["name"].str() == "web");
  CHECK(json["listeners"][0]["protocol"].str() == "http");
  CHECK(json["listeners"][0]["address"].str() == "127.0.0.1:8080");
  CHECK(json["listeners"][0]["active_connections"].num() == 3);
  CHECK(json["listeners"][1]["address"].str() == "[::1]:5432");

  REQUIRE(json["upstreams"].size() == 2);
  const Json& pool = json["upstreams"][0];
  CHECK(pool["name"].str() == "pool");
  CHECK(pool["balance"].str() == "round_robin");
  CHECK(pool["usable_servers"].num() == 1);
  CHECK(pool["servers_total"].num() == 3);
  REQUIRE(pool["servers"].size() == 3);
  const Json& first = pool["servers"][0];
  CHECK(first.size() == 14);
  CHECK(first["name"].str() == "127.0.0.1:9001");
  CHECK(first["address"].str() == "127.0.0.1:9001");
  CHECK(first["dns"].str().empty());  // written in the file
  CHECK(pool["dns"].size() == 0);
  CHECK(first["weight"].num() == 1);
  CHECK(first["backup"].boolean() == false);
  CHECK(first["state"].str() == "up");
  CHECK(first["usable"].boolean() == true);
  CHECK(first["check"].str() == "passed");
  CHECK(first["admin_drain"].boolean() == false);
  CHECK(first["ejected"].boolean() == false);
  CHECK(first["ramp_percent"].num() == 100);
  CHECK(first["active_requests"].num() == 7);
  CHECK(first["last_transition"].str() == "down -> up: 2 consecutive successes");
  CHECK(first["last_transition_seconds_ago"].num() == doctest::Approx(4.2));
  CHECK(pool["servers"][2]["backup"].boolean() == true);
  CHECK(pool["servers"][2]["admin_drain"].boolean() == true);
  CHECK(pool["servers"][2]["state"].str() == "drained");
  CHECK(pool["servers"][2]["last_transition"].str().empty());
  CHECK(pool["servers"][2]["last_transition_seconds_ago"].null());

  // Strings survive the escaping intact.
  const Json& odd = json["upstreams"][1];
  CHECK(odd["name"].str() == "odd<&>\"pool\"");
  CHECK(odd["servers"][0]["name"].str() == "<script>alert(1)</script>");
  CHECK(odd["servers"][0]["check"].str() == "body lacks \"ok\"\n");
  CHECK(odd["servers"][0]["ejected"].boolean() == true);
  CHECK_FALSE(contains(response.body, "<"));  // escaped as \u003c
}

TEST_CASE("admin server: drain and enable call the proxy with the decoded names") {
  AdminHarness admin;
  HttpMessage raw = post(admin.port, "/api/upstreams/pool/servers/127.0.0.1:9001/drain");
  CHECK(raw.status == 200);
  CHECK(field(raw, "Content-Type") == "application/json");
  CHECK(raw.body == R"({"upstream":"pool","server":"127.0.0.1:9001","admin_drain":true})");

  HttpMessage encoded = post(admin.port, "/api/upstreams/po%6Fl/servers/127.0.0.1%3A9001/enable");
  CHECK(encoded.status == 200);
  CHECK(encoded.body == R"({"upstream":"pool","server":"127.0.0.1:9001","admin_drain":false})");
  Json json = parseJson(encoded.body);
  CHECK(json["admin_drain"].boolean() == false);

  HttpMessage named = post(admin.port, "/api/upstreams/pool/servers/b2/drain?from=ops");
  CHECK(named.status == 200);

  auto calls = admin.proxy.drainCalls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].upstream == "pool");
  CHECK(calls[0].server == "127.0.0.1:9001");
  CHECK(calls[0].drained == true);
  CHECK(calls[1].upstream == "pool");
  CHECK(calls[1].server == "127.0.0.1:9001");
  CHECK(calls[1].drained == false);
  CHECK(calls[2].server == "b2");
  CHECK(calls[2].drained == true);

  // The status shows the change.
  Json status = parseJson(httpGet(admin.port, "/status.json").body);
  CHECK(status["upstreams"][0]["servers"][1]["admin_drain"].boolean() == true);
}

TEST_CASE("admin server: an unknown upstream or server is a 404 JSON error") {
  AdminHarness admin;
  HttpMessage upstream = post(admin.port, "/api/upstreams/nope/servers/b2/drain");
  CHECK(upstream.status == 404);
  CHECK(field(upstream, "Content-Type") == "application/json");
  CHECK(parseJson(upstream.body)["error"].str() == "no upstream \"nope\"");

  HttpMessage server = post(admin.port, "/api/upstreams/pool/servers/127.0.0.1%3A1/enable");
  CHECK(server.status == 404);
  CHECK(parseJson(server.body)["error"].str() == "upstream \"pool\" has no server \"127.0.0.1:1\"");
  CHECK(admin.proxy.drainCalls().size() == 2);
}

TEST_CASE(
    "admin server: with a token, /api needs the bearer token and a refused call changes nothing") {
  AdminHarness admin;
  const std::string path = "/api/upstreams/pool/servers/b2/drain";

  for (const std::string& authorization :
       {std::string(""), std::string("Authorization: Bearer wrong\r\n"),
        std::string("Authorization: Bearer ") + kToken + "x\r\n",
        std::string("Authorization: Basic ") + kToken + "\r\n",
        std::string("Authorization: Bearer\r\n")}) {
    CAPTURE(authorization);
    HttpMessage refused =
        post(admin.port, path, authorization + "Content-Type: application/json\r\n");
    CHECK(refused.status == 401);
    CHECK(field(refused, "WWW-Authenticate") == "Bearer");
    CHECK(field(refused, "Content-Type") == "application/json");
    CHECK(parseJson(refused.body)["error"].str() == "missing or wrong bearer token");
  }
  // Unknown names are not revealed without the token either.
  CHECK(post(admin.port, "/api/upstreams/nope/servers/b2/drain", "").status == 401);
  CHECK(admin.proxy.drainCalls().empty());

  HttpMessage accepted = post(
      admin.port, path,
      std::string("Authorization: bearer  ") + kToken + "\r\nContent-Type: application/json\r\n");
  CHECK(accepted.status == 200);
  REQUIRE(admin.proxy.drainCalls().size() == 1);
  CHECK(admin.proxy.drainCalls()[0].server == "b2");

  // The read-only routes need no token.
  admin.proxy.setAnswerAtOnce(true);
  CHECK(httpGet(admin.port, "/metrics").status == 200);
  CHECK(httpGet(admin.port, "/healthz").status == 200);
  CHECK(httpGet(admin.port, "/status").status == 200);
  CHECK(httpGet(admin.port, "/status.json").status == 200);
}

TEST_CASE("admin server: a wrong method is a 405 with Allow") {
  AdminHarness admin;
  HttpMessage get_api = httpGet(admin.port, "/api/upstreams/pool/servers/b2/drain");
  CHECK(get_api.status == 405);
  CHECK(field(get_api, "Allow") == "POST");
  CHECK(field(get_api, "Content-Type") == "application/json");
  CHECK(contains(parseJson(get_api.body)["error"].str(), "method not allowed"));

  HttpMessage post_metrics = post(admin.port, "/metrics");
  CHECK(post_metrics.status == 405);
  CHECK(field(post_metrics, "Allow") == "GET, HEAD");

  HttpMessage delete_status = roundTrip(admin.port, request("DELETE", "/status.json"));
  CHECK(delete_status.status == 405);
  CHECK(field(delete_status, "Allow") == "GET, HEAD");
  CHECK(admin.proxy.drainCalls().empty());
  CHECK(admin.proxy.collectCalls() == 0);
}

TEST_CASE("admin server: other paths are a 404 JSON error") {
  AdminHarness admin;
  for (const char* path : {"/", "/metrics/", "/status.html", "/api", "/api/upstreams/pool",
                           "/api/upstreams/pool/servers/b2", "/api/upstreams/pool/servers/b2/kill",
                           "/api/upstreams/pool/servers/b2/drain/now"}) {
    CAPTURE(path);
    HttpMessage response = post(admin.port, path);
    CHECK(response.status == 404);
    CHECK(field(response, "Content-Type") == "application/json");
    CHECK(parseJson(response.body)["error"].str() == "no such path");
  }
  HttpMessage malformed = post(admin.port, "/api/upstreams/pool/servers/b%2/drain");
  CHECK(malformed.status == 400);
  CHECK(parseJson(malformed.body)["error"].str() == "malformed request path");
  HttpMessage nul = post(admin.port, "/api/upstreams/pool/servers/b%00/drain");
  CHECK(nul.status == 400);
  CHECK(admin.proxy.drainCalls().empty());
}

TEST_CASE("admin server: listen binds port 0 and reports an address in use") {
  std::signal(SIGPIPE, SIG_IGN);
  net::EventLoop loop;
  FakeProxy proxy;
  admin::RefusalCounts refusals{};
  admin::AdminServer first(loop, proxy, refusals);
  CHECK(first.bound().port() == 0);
  std::string why;
  REQUIRE(first.listen(loopbackAddress(0), {}, why));
  const uint16_t port = first.bound().port();
  CHECK(port != 0);
  CHECK(first.bound().toString() == "127.0.0.1:" + std::to_string(port));

  CHECK_FALSE(first.listen(loopbackAddress(0), {}, why));
  CHECK(contains(why, "already listens on 127.0.0.1:" + std::to_string(port)));

  admin::AdminServer second(loop, proxy, refusals);
  CHECK_FALSE(second.listen(loopbackAddress(port), {}, why));
  CHECK(why == "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST_CASE("admin server: JSON strings are escaped and always valid") {
  std::string out;
  admin::appendJsonString(out, std::string("a\"b\\c\n\t\x01<>&\x7f", 12));
  CHECK(out == R"("a\"b\\c\n\t\u0001\u003c\u003e\u0026\u007f")");

  out.clear();
  admin::appendJsonString(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  // é € 😀 pass
  CHECK(out == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");

  out.clear();  // stray continuation, truncated sequence, overlong, surrogate
  admin::appendJsonString(out, "\x80x\xe2\x82y\xc0\xafz\xed\xa0\x80");
  CHECK(out == R"("\ufffdx\ufffd\ufffdy\ufffd\ufffdz\ufffd\ufffd\ufffd")");

  out.clear();
  admin::appendJsonString(out,
                          "a\xe2\x80\xa8"
                          "b\xe2\x80\xa9");
  CHECK(out == R"("a\u2028b\u2029")");

  out.clear();
  admin::appendJsonString(out, std::string("nul\0byte", 8));
  CHECK(out == R"("nul\u0000byte")");

  const auto number = [](double value) {
    std::string text;
    admin::appendJsonNumber(text, value);
    return text;
  };
  CHECK(number(12) == "12");
  CHECK(number(4.2) == "4.2");
  CHECK(number(0.0004) == "0");
  CHECK(number(-0.0001) == "0");
  CHECK(number(1.23456) == "1.235");
  CHECK(number(std::numeric_limits<double>::infinity()) == "null");
  CHECK(number(std::numeric_limits<double>::quiet_NaN()) == "null");

  CHECK(admin::jsonError("no \"x\"") == R"({"error":"no \"x\""})");
  CHECK_NOTHROW(parseJson(admin::statusJson(admin::Status{})));
  CHECK(admin::statusJson(admin::Status{}) ==
        R"({"version":"","uptime_seconds":0,"draining":false,"generation":0,"workers":[],)"
        R"("listeners":[],"upstreams":[]})");
}

TEST_CASE("admin server: Accept-Encoding picks gzip only when it is acceptable") {
  CHECK(admin::acceptsGzip("gzip"));
  CHECK(admin::acceptsGzip("GZIP"));
  CHECK(admin::acceptsGzip("deflate, gzip"));
  CHECK(admin::acceptsGzip("br;q=1.0, gzip;q=0.5"));
  CHECK(admin::acceptsGzip("x-gzip"));
  CHECK(admin::acceptsGzip(" gzip ; q=0.001"));
  CHECK_FALSE(admin::acceptsGzip(nullptr));
  CHECK_FALSE(admin::acceptsGzip(""));
  CHECK_FALSE(admin::acceptsGzip("identity"));
  CHECK_FALSE(admin::acceptsGzip("gzip;q=0"));
  CHECK_FALSE(admin::acceptsGzip("gzip; q=0.000"));
  CHECK_FALSE(admin::acceptsGzip("gzipped, br"));

  std::string compressed;
  const std::string text = patternBytes(100000, 7) + std::string(100000, 'a');
  REQUIRE(admin::gzipCompress(text, compressed));
  CHECK(gunzip(compressed) == text);
  REQUIRE(admin::gzipCompress("", compressed));
  CHECK(gunzip(compressed).empty());
}

TEST_CASE("admin server: path segments are percent-decoded") {
  std::vector<std::string> segments;
  REQUIRE(
      admin::decodePathSegments("/api/upstreams/pool/servers/127.0.0.1%3A9001/drain", segments));
  CHECK(segments ==
        std::vector<std::string>{"api", "upstreams", "pool", "servers", "127.0.0.1:9001", "drain"});
  REQUIRE(admin::decodePathSegments("/a%2fb/c+d/%5B%3a%3A1%5D%3a80", segments));
  CHECK(segments == std::vector<std::string>{"a/b", "c+d", "[::1]:80"});
  REQUIRE(admin::decodePathSegments("/", segments));
  CHECK(segments == std::vector<std::string>{""});
  REQUIRE(admin::decodePathSegments("/a//b/", segments));
  CHECK(segments == std::vector<std::string>{"a", "", "b", ""});
  CHECK_FALSE(admin::decodePathSegments("", segments));
  CHECK_FALSE(admin::decodePathSegments("api", segments));
  CHECK_FALSE(admin::decodePathSegments("/a%", segments));
  CHECK_FALSE(admin::decodePathSegments("/a%4", segments));
  CHECK_FALSE(admin::decodePathSegments("/a%zz", segments));
  CHECK_FALSE(admin::decodePathSegments("/a%00b", segments));
}

TEST_CASE("admin server: durations on the status page") {
  CHECK(admin::formatDuration(0) == "0s");
  CHECK(admin::formatDuration(-5) == "0s");
  CHECK(admin::formatDuration(59.9) == "59s");
  CHECK(admin::formatDuration(120) == "2m 0s");
  CHECK(admin::formatDuration(3723.5) == "1h 2m 3s");
  CHECK(admin::formatDuration(90061) == "1d 1h 1m 1s");
  CHECK(admin::formatDuration(std::numeric_limits<double>::infinity()) == "0s");
  CHECK(admin::formatDuration(1e300) == "11574074074d 1h 46m 40s");
}
