// Limits on the process's own resources, through the real proxy:
// global.max_connections holds clients back in the listen backlog, running
// out of descriptors is never blamed on a server, and the admin listener
// neither spins nor floods the log when accept() fails. Descriptor
// shortage is made by starting fulcrum under `prlimit --nofile=N:N` and
// holding idle client connections. Every wait is on an answer, a metric or
// /proc, bounded by a deadline.
#include <doctest/doctest.h>
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

constexpr int kOpenFiles = 64;  // the descriptor limit of the starved proxies

size_t openDescriptors(pid_t pid) {
  size_t count = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error))
    ++count;
  return count;
}

// User + system CPU time of the process, in seconds.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The "Max open files" soft limit from /proc/PID/limits.
long softOpenFiles(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Max open files", 0) == 0) return std::stol(line.substr(26));
  return -1;
}

bool readableWithin(int fd, std::chrono::milliseconds window) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(window.count())) > 0;
}

// A kept-alive admin connection: /metrics still answers on it when the
// proxy can accept nothing new.
class AdminSession {
 public:
  explicit AdminSession(uint16_t port) : fd_(connectLoopback(port)), reader_(fd_.get()) {}
  std::string metrics() {
    REQUIRE(writeAll(fd_.get(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto response = reader_.response();
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return response->body;
  }
  double value(const std::string& series) { return sample(metrics(), series).value_or(-1); }

 private:
  Fd fd_;
  HttpReader reader_;
};

double sumOf(const std::string& metrics, const std::string& prefix) {
  double total = 0;
  for (const auto& [series, value] : samples(metrics))
    if (series.rfind(prefix, 0) == 0) total += value;
  return total;
}

std::string localErrors(const std::string& where) {
  return "fulcrum_local_resource_errors_total{where=\"" + where + "\"";
}

std::vector<std::string> prlimit(int files) {
  auto program = findProgram("prlimit");
  REQUIRE(program);
  return {*program, "--nofile=" + std::to_string(files) + ":" + std::to_string(files), "--"};
}

std::string config(const std::string& global, uint16_t backend, const std::string& upstream = "") {
  return "global: { workers: 1, admin: { listen: 127.0.0.1:0 }" + global +
         " }\n"
         "listeners:\n"
         "  - name: web\n"
         "    listen: 127.0.0.1:0\n"
         "    protocol: http\n"
         "    upstream: pool\n"
         "    timeouts: { client_header: 2m, client_idle: 2m }\n"
         "upstreams:\n"
         "  pool:\n"
         "    keepalive: { max_idle: 0 }\n" +
         upstream + "    servers:\n      - { address: 127.0.0.1:" + std::to_string(backend) +
         " }\n";
}

// Runs what the proxy will run out of descriptors before it does: under
// UBSan the first check of each dynamic type needs a pipe(2), which fails
// then (a false "invalid vptr" that halts the sanitized proxy).
void warmUp(uint16_t port, uint16_t admin) {
  CHECK(httpGet(port, "/warm").status == 200);
  CHECK(httpGet(admin, "/healthz").status == 200);
  CHECK(httpGet(admin, "/metrics").status == 200);
}

// Idle client connections until the proxy holds `kOpenFiles` descriptors
// (the rest wait in the listen backlog).
std::vector<Fd> exhaustDescriptors(Proxy& proxy, uint16_t port) {
  std::vector<Fd> clients;
  for (int i = 0; i < kOpenFiles + 16; ++i) clients.push_back(connectLoopback(port));
  REQUIRE(waitUntil(
      [&] { return openDescriptors(proxy.process().pid()) >= static_cast<size_t>(kOpenFiles); },
      kDeadline));
  return clients;
}

}  // namespace

TEST_CASE("at max_connections a client waits in the backlog until another leaves") {
  HttpBackend backend("b1");
  Proxy proxy(config(", max_connections: 8", backend.port()));
  const uint16_t port = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  const pid_t pid = proxy.process().pid();
  REQUIRE(proxy.process().waitForText("fulcrum started"));  // every worker's loop is made
  const size_t descriptors_before = openDescriptors(pid);
  CHECK(sample(httpGet(admin, "/metrics").body, "fulcrum_max_connections") == 8);

  std::vector<std::unique_ptr<Pending>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Pending>(port, "/c" + std::to_string(i)));
    auto answer = clients.back()->response();
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }
  Pending ninth(port, "/ninth");
  // Held in the kernel's backlog: not accepted, not answered.
  CHECK_FALSE(readableWithin(ninth.fd.get(), 300ms));
  std::string metrics = httpGet(admin, "/metrics").body;
  CHECK(sample(metrics, "fulcrum_downstream_connections_active{listener=\"web\"}") == 8);

  clients.erase(clients.begin());  // one leaves: the ninth is served
  auto answer = ninth.response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
  metrics = httpGet(admin, "/metrics").body;
  CHECK(sample(metrics, "fulcrum_downstream_connections_limited_total{listener=\"web\"}") == 1);

  clients.clear();
  ninth.fd = Fd();
  for (int i = 0; i < 3; ++i) CHECK(httpGet(port, "/after").status == 200);
  CHECK(waitUntil([&] { return openDescriptors(pid) == descriptors_before; }, kDeadline));
  metrics = httpGet(admin, "/metrics").body;
  CHECK(sample(metrics, "fulcrum_downstream_connections_active{listener=\"web\"}") == 0);
}

TEST_CASE("the admin listener holds connections past its cap in the backlog") {
  HttpBackend backend("b1");
  Proxy proxy(
      "global: { workers: 1, admin: { listen: 127.0.0.1:0, max_connections: 2 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:" +
      std::to_string(backend.port()) + " }\n");
  const uint16_t admin = proxy.adminPort();
  auto first = std::make_unique<AdminSession>(admin);
  AdminSession second(admin);
  first->metrics();
  second.metrics();
  Pending third(admin, "/healthz");
  CHECK_FALSE(readableWithin(third.fd.get(), 300ms));
  first.reset();  // one leaves: the third is served
  auto answer = third.response();
  REQUIRE(answer);
  CHECK(answer->status == 200);
}

TEST_CASE("out of descriptors health-checked servers stay up and requests work again at once") {
  HttpBackend backend("b1");
  const std::string server =
      "upstream=\"pool\",server=\"127.0.0.1:" + std::to_string(backend.port()) + "\"";
  // fall: 1 would take the server down on the first failure counted, and
  // rise: 5 keep it down for a while: neither may happen here.
  Proxy proxy(config(", max_connections: 100000", backend.port(),
                     "    health_check: { type: http, path: /health, interval: 100ms, "
                     "rise: 5, fall: 1 }\n"),
              prlimit(kOpenFiles));
  const uint16_t port = proxy.port("web");
  AdminSession admin(proxy.adminPort());
  const std::string up = "fulcrum_upstream_server_up{" + server + "}";
  const std::string failed = "fulcrum_health_checks_total{" + server + ",result=\"failed\"}";
  const std::string connect_failures = "fulcrum_upstream_connect_failures_total{" + server + "}";
  const std::string passed = "fulcrum_health_checks_total{" + server + ",result=\"passed\"}";
  REQUIRE(waitUntil([&] { return admin.value(up) == 1 && admin.value(passed) >= 3; }, kDeadline));
  warmUp(port, proxy.adminPort());
  std::string before = admin.metrics();
  REQUIRE(sample(before, failed));

  std::vector<Fd> clients = exhaustDescriptors(proxy, port);
  // Probes keep failing for want of a descriptor: counted as ours.
  const double checks_local = sumOf(before, localErrors("health_check"));
  REQUIRE(waitUntil(
      [&] { return sumOf(admin.metrics(), localErrors("health_check")) > checks_local + 3; },
      kDeadline));
  // A request on an accepted connection cannot reach the server: 503, and
  // still not the server's fault.
  REQUIRE(writeAll(clients[0].get(), "GET /starved HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto starved = HttpReader(clients[0].get()).response();
  REQUIRE(starved);
  CHECK(starved->status == 503);
  std::string during = admin.metrics();
  CHECK(sample(during, up) == 1);
  CHECK(sample(during, failed) == sample(before, failed));
  CHECK(sample(during, connect_failures) == sample(before, connect_failures));
  CHECK(sumOf(during, localErrors("connect")) > sumOf(before, localErrors("connect")));
  CHECK(sumOf(during, localErrors("accept")) > sumOf(before, localErrors("accept")));

  clients.clear();
  // No rise to wait for: the very next request is served.
  CHECK(httpGet(port, "/after").status == 200);
  std::string after = admin.metrics();
  CHECK(sample(after, up) == 1);
  CHECK(sample(after, failed) == sample(before, failed));
}

TEST_CASE("out of descriptors the admin listener pauses instead of spinning") {
  HttpBackend backend("b1");
  Proxy proxy(config(", max_connections: 100000", backend.port()), prlimit(kOpenFiles));
  const uint16_t port = proxy.port("web");
  const uint16_t admin_port = proxy.adminPort();
  const pid_t pid = proxy.process().pid();
  AdminSession admin(admin_port);
  warmUp(port, admin_port);
  const double admin_errors = sumOf(admin.metrics(), localErrors("admin_accept"));

  std::vector<Fd> clients = exhaustDescriptors(proxy, port);
  std::vector<Fd> waiting;  // admin connections the proxy cannot accept now
  for (int i = 0; i < 20; ++i) waiting.push_back(connectLoopback(admin_port));
  const size_t lines_before = proxy.process().lines().size();
  const double cpu_before = cpuSeconds(pid);
  const auto started = std::chrono::steady_clock::now();
  // Accepting is retried every 100ms: ten failures take about a second.
  REQUIRE(waitUntil(
      [&] { return sumOf(admin.metrics(), localErrors("admin_accept")) >= admin_errors + 10; },
      kDeadline));
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = cpuSeconds(pid) - cpu_before;
  MESSAGE("cpu " << cpu << "s over " << wall << "s");
  // A loop retrying accept() at once would burn a whole core (cpu about
  // wall); paused, the proxy spends what the scrapes of this wait cost,
  // which under AddressSanitizer on a loaded machine reaches a quarter.
  CHECK(cpu < wall / 2);
  // The failures are logged a few at a time, not once per accept().
  CHECK(proxy.process().lines().size() - lines_before <= 40);

  clients.clear();
  for (auto& connection : waiting)
    CHECK(writeAll(connection.get(), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  for (auto& connection : waiting) {
    auto answer = HttpReader(connection.get()).response();
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }
  CHECK(httpGet(admin_port, "/healthz").status == 200);
}

TEST_CASE("fulcrum raises its soft open files limit to the hard limit and derives the default") {
  auto program = findProgram("prlimit");
  REQUIRE(program);
  HttpBackend backend("b1");
  Proxy proxy(config("", backend.port()), {*program, "--nofile=256:4096", "--"});
  const uint16_t admin = proxy.adminPort();
  CHECK(softOpenFiles(proxy.process().pid()) == 4096);
  auto max = sample(httpGet(admin, "/metrics").body, "fulcrum_max_connections");
  REQUIRE(max);
  // Half of what is left after the reserve: more than 256 allowed, less than 4096 / 2.
  CHECK(*max > 256 / 2);
  CHECK(*max < 4096 / 2);
}
