// Idle kept-alive HTTP connections leave their session after a short wait
// ("parked": the socket, its addresses and generation in a small record)
// and get a new one when their next request comes. Through the real
// binary: the next request is answered as before, for the client a PROXY
// header named, and for a plain client, whose address the socket gives
// back; a client's reset while parked counts it out; client_idle still closes a parked connection;
// a drain closes it and the process exits; after a reload its next request uses the new
// configuration; a crowd of idle connections all park and leaves no session counted as waiting.
// Each test waits for the "parked" debug line.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "support/connection_recorder.h"
#include "support/forwarding_config.h"
#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

const std::string kGet = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// Waits for the proxy's `n`-th parked connection.
bool parked(Proxy& proxy, int n) {
  return nthText(proxy.process(), "idle connection parked", n).has_value();
}

// fulcrum_downstream_connections_active of listener "web".
std::optional<double> active(Proxy& proxy) {
  return sample(httpGet(proxy.adminPort(), "/metrics").body,
                "fulcrum_downstream_connections_active{listener=\"web\"}");
}

std::string backendYaml(uint16_t backend, const std::string& idle = "60s") {
  return HttpConfig{.servers = {backend}, .client_idle_timeout = idle}.yaml();
}

// A connection to the listener "web", answered once and then parked.
struct ParkedClient {
  explicit ParkedClient(Proxy& proxy) : fd(connectLoopback(proxy.port("web"))), reader(fd.get()) {
    REQUIRE(fd);
    REQUIRE(writeAll(fd.get(), kGet));
    REQUIRE(reader.response());
    answered = std::chrono::steady_clock::now();
    REQUIRE(parked(proxy, 1));
  }
  Fd fd;
  HttpReader reader;
  std::chrono::steady_clock::time_point answered;
};

}  // namespace

TEST_CASE("parking: a parked keep-alive connection answers its next requests") {
  HttpBackend backend("b1");
  Proxy proxy(backendYaml(backend.port()));
  Fd client = connectLoopback(proxy.port("web"));
  REQUIRE(client);
  HttpReader reader(client.get());
  for (int n = 1; n <= 3; ++n) {
    REQUIRE(writeAll(client.get(), "GET /" + std::to_string(n) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->field("Connection").value_or("") != "close");
    REQUIRE(parked(proxy, n));
  }
  std::vector<HttpMessage> requests = backend.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].path == "/3");
  CHECK(proxy.process().waitForText("parked connection resumed"));
}

TEST_CASE("parking: the client a PROXY header named is kept across parking") {
  ConnectionRecorder backend("b1");
  Proxy proxy(
      ForwardingConfig{.servers = {backend.port()},
                       .listener = {"proxy_protocol: required", "trusted_proxies: [127.0.0.1]"},
                       .access_log = "stdout"}
          .yaml());
  Fd client = connectFrom("127.0.0.1", proxy.port("front"));
  REQUIRE(client);
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), "PROXY TCP4 203.0.113.7 192.0.2.10 40000 8080\r\n" + kGet));
  REQUIRE(reader.response());
  REQUIRE(parked(proxy, 1));
  REQUIRE(writeAll(client.get(), kGet));
  auto second = reader.response();
  REQUIRE(second);
  CHECK(second->status == 200);
  REQUIRE(backend.waitAnswered(2));
  const std::string seen = backend.receivedAll();
  size_t named = 0;
  for (size_t at = seen.find("X-Forwarded-For: 203.0.113.7\r\n"); at != std::string::npos;
       at = seen.find("X-Forwarded-For: 203.0.113.7\r\n", at + 1))
    ++named;
  CHECK(named == 2);
  CHECK(nthText(proxy.process(), "\"client\":\"203.0.113.7:40000\"", 2));
}

TEST_CASE(
    "parking: a parked connection's next request names the same client, read from its socket") {
  ConnectionRecorder backend("b1");
  Proxy proxy(ForwardingConfig{.servers = {backend.port()}, .access_log = "stdout"}.yaml());
  Fd client = connectFrom("127.0.0.3", proxy.port("front"));
  REQUIRE(client);
  sockaddr_in ours{};
  socklen_t length = sizeof(ours);
  REQUIRE(getsockname(client.get(), reinterpret_cast<sockaddr*>(&ours), &length) == 0);
  const std::string named = "\"client\":\"127.0.0.3:" + std::to_string(ntohs(ours.sin_port)) + "\"";
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), kGet));
  REQUIRE(reader.response());
  REQUIRE(parked(proxy, 1));
  REQUIRE(writeAll(client.get(), kGet));
  REQUIRE(reader.response());
  REQUIRE(proxy.process().waitForText("parked connection resumed"));
  REQUIRE(backend.waitAnswered(2));
  const std::string seen = backend.receivedAll();
  const size_t second = seen.find("GET / ", seen.find("GET / ") + 1);
  REQUIRE(second != std::string::npos);
  CHECK(seen.find("X-Forwarded-For: 127.0.0.3\r\n", second) != std::string::npos);
  CHECK(nthText(proxy.process(), named, 2));
}

TEST_CASE("parking: a parked connection reset by its client is counted out") {
  HttpBackend backend("b1");
  Proxy proxy(backendYaml(backend.port()));
  ParkedClient client(proxy);
  CHECK(active(proxy) == 1);
  linger reset{1, 0};  // close() sends a RST
  REQUIRE(setsockopt(client.fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) == 0);
  client.fd = Fd();
  CHECK(proxy.process().waitForText("parked connection reset by its client"));
  CHECK(waitUntil([&] { return active(proxy) == 0; }, kDeadline));
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("parking: a crowd of idle connections parks, and no session stays counted as waiting") {
  HttpBackend backend("b1");
  Proxy proxy(backendYaml(backend.port()));
  // More than wait patiently at once (http/parking.h): the ones past the
  // bound park sooner, and every one is counted out when it parks.
  constexpr int kCrowd = 300;
  std::vector<Fd> clients;
  for (int n = 0; n < kCrowd; ++n) {
    clients.push_back(connectLoopback(proxy.port("web")));
    REQUIRE(clients.back());
    REQUIRE(writeAll(clients.back().get(), kGet));
  }
  for (Fd& client : clients) {
    HttpReader reader(client.get());
    auto response = reader.response();
    REQUIRE(response);
    REQUIRE(response->status == 200);
  }
  const auto last = nthText(proxy.process(), "idle connection parked", kCrowd);
  REQUIRE(last);
  CHECK(last->find("(300 parked, 0 waiting)") != std::string::npos);

  // Closed while parked, or closed while waiting in its session (a client
  // that leaves at once after its answer): counted out either way.
  clients.clear();
  REQUIRE(waitUntil([&] { return active(proxy) == 0; }, kDeadline));
  {
    Fd leaving = connectLoopback(proxy.port("web"));
    REQUIRE(leaving);
    HttpReader reader(leaving.get());
    REQUIRE(writeAll(leaving.get(), kGet));
    REQUIRE(reader.response());
  }
  REQUIRE(waitUntil([&] { return active(proxy) == 0; }, kDeadline));
  int parks = 0;
  for (const std::string& line : proxy.process().lines())
    parks += line.find("idle connection parked") != std::string::npos ? 1 : 0;
  Fd staying = connectLoopback(proxy.port("web"));
  REQUIRE(staying);
  HttpReader reader(staying.get());
  REQUIRE(writeAll(staying.get(), kGet));
  REQUIRE(reader.response());
  const auto line = nthText(proxy.process(), "idle connection parked", parks + 1);
  REQUIRE(line);
  CHECK(line->find("(1 parked, 0 waiting)") != std::string::npos);
}

TEST_CASE("parking: client_idle still closes a parked connection") {
  HttpBackend backend("b1");
  Proxy proxy(backendYaml(backend.port(), "400ms"));
  ParkedClient client(proxy);
  CHECK(active(proxy) == 1);  // still an open connection
  CHECK(client.reader.atEof(5s));
  const auto idle = std::chrono::steady_clock::now() - client.answered;
  CHECK(idle >= 300ms);  // the timeout counts from the answer, not from the park
  CHECK(idle < 3s);
  CHECK(waitUntil([&] { return active(proxy) == 0; }, kDeadline));
}

TEST_CASE("parking: SIGTERM closes parked connections and the process exits 0") {
  HttpBackend backend("b1");
  Proxy proxy(backendYaml(backend.port()));
  ParkedClient client(proxy);
  proxy.process().signal(SIGTERM);
  CHECK(client.reader.atEof());
  CHECK(proxy.process().waitExit() == 0);
  CHECK(proxy.process().waitForText("every connection finished"));
}

TEST_CASE("parking: after a reload a parked connection's next request uses the new config") {
  HttpBackend before("before");
  HttpBackend after("after");
  Proxy proxy(backendYaml(before.port()));
  ParkedClient client(proxy);
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(backendYaml(after.port())));
  REQUIRE(writeAll(client.fd.get(), kGet));
  auto response = client.reader.response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(before.requests().size() == 1);
  CHECK(after.requests().size() == 1);
}

TEST_CASE(
    "parking: a connection with a server connection of its own (proxy_protocol) stays unparked") {
  ConnectionRecorder backend("b1");
  Proxy proxy(
      ForwardingConfig{.servers = {backend.port()}, .upstream = {"proxy_protocol: v2"}}.yaml());
  Fd client = connectFrom("127.0.0.1", proxy.port("front"));
  REQUIRE(client);
  HttpReader reader(client.get());
  REQUIRE(writeAll(client.get(), kGet));
  REQUIRE(reader.response());
  // Six times the park delay without a "parked" line: it was not parked.
  CHECK_FALSE(proxy.process().waitForText("idle connection parked", 300ms));
  REQUIRE(writeAll(client.get(), kGet));
  auto second = reader.response();
  REQUIRE(second);
  CHECK(second->status == 200);
  REQUIRE(backend.waitAnswered(2));
  // Both requests went over the one server connection that names this client.
  CHECK(backend.connections() == 1);
  CHECK(backend.received(0).find("GET / ", backend.received(0).find("GET / ") + 1) !=
        std::string::npos);
}
