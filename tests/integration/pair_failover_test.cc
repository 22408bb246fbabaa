// An active/passive pair (README, "Running a pair"): two fulcrum nodes, each
// with Debian's keepalived running conf/examples/keepalived/ as shipped
// (only paths changed), in network namespaces the test builds itself: a
// client, node1, node2 and a backend on one bridge, 192.0.2.0/24 inside
// them only, the virtual address 192.0.2.100. A paced client loop against
// the virtual address runs through four events, each measured and printed:
// the active fulcrum is SIGKILLed; it comes back (and, nopreempt, takes
// nothing); the other, active now, drains on SIGTERM (/healthz 503, still
// accepting for global.drain_grace, so the address moves before a connect
// is refused: no request fails, but for the one in flight on the leaving
// node when the address moves, if any); and it comes back. Skips where
// namespaces cannot be made or keepalived is not installed.
#include <signal.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "doctest/doctest.h"
#include "support/bridged_namespaces.h"
#include "support/paced_client.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace fulcrum::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kKeepalived = "/usr/sbin/keepalived";
constexpr const char* kVirtualAddress = "192.0.2.100";
constexpr uint16_t kPort = 8080;
// Long enough for keepalived to see /healthz fail (fall 2 x interval 1s)
// and the other node to take the address, with room for a loaded machine.
constexpr int kDrainGraceSeconds = 6;
// A switch must complete within this, from the event on: the address
// moved, and the client answered by the other node (its connect may wait
// for TCP's SYN retries, see below).
constexpr double kSwitchBound = 15.0;
// Successes served by the expected node before an event's window closes.
constexpr int kSettled = 50;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string nodeName(int node) {
  return "node" + std::to_string(node + 1);
}

std::string fulcrumConfig(int node) {
  return std::string("global:\n  workers: 1\n  log: { level: info, access: off }\n") +
         "  admin: { listen: 127.0.0.1:9901 }\n  drain_grace: " +
         std::to_string(kDrainGraceSeconds) + "s" +
         "\n  drain_timeout: 2s\n"
         "listeners:\n  - { name: web, listen: 0.0.0.0:" +
         std::to_string(kPort) +
         ", protocol: http, upstream: pool }\n"
         "upstreams:\n  pool:\n    servers:\n      - { address: 192.0.2.20:900" +
         std::to_string(node + 1) + " }\n";
}

// keepalived as a child, stopped with SIGTERM (it takes its VRRP process
// and the address with it) before the namespaces go.
class Keepalived {
 public:
  explicit Keepalived(std::vector<std::string> argv) : process_(std::move(argv)) {}
  ~Keepalived() {
    if (process_.running()) process_.signal(SIGTERM);
    process_.waitExit(std::chrono::seconds(10));
  }
  ChildProcess& process() { return process_; }

 private:
  ChildProcess process_;
};

// How many times the notify log says the node entered `state`.
int entered(const std::string& events, const std::string& state) {
  std::istringstream lines(readFile(events));
  int count = 0;
  for (std::string line; std::getline(lines, line);)
    count += line.size() > state.size() &&
             line.compare(line.size() - state.size() - 1, state.size() + 1, " " + state) == 0;
  return count;
}

// When the notify log last says the node entered `state`, in seconds since
// the epoch (notify.sh writes `date +%s.%N`); -1 when it never did.
double lastEntered(const std::string& events, const std::string& state) {
  std::istringstream lines(readFile(events));
  double last = -1;
  for (std::string line; std::getline(lines, line);)
    if (line.size() > state.size() && line.ends_with(" " + state)) last = std::stod(line);
  return last;
}

double epochSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE(
    "pair: keepalived moves the virtual address when the active fulcrum is killed or drains, "
    "and a node that comes back takes nothing") {
  if (!std::filesystem::exists(kKeepalived) || !findProgram("curl")) {
    MESSAGE("skipped: needs " << kKeepalived << " (Debian package keepalived) and curl");
    return;
  }
  std::string why;
  std::unique_ptr<BridgedNamespaces> net = BridgedNamespaces::create(why);
  if (!net) {
    MESSAGE("skipped: " << why);
    return;
  }
  for (const auto& [role, address] :
       std::vector<std::pair<std::string, std::string>>{{"client", "192.0.2.10/24"},
                                                        {"node1", "192.0.2.11/24"},
                                                        {"node2", "192.0.2.12/24"},
                                                        {"backend", "192.0.2.20/24"}})
    REQUIRE(net->add(role, address) == "");

  // The scripts as shipped, in a directory only root can write to, as
  // keepalived's enable_script_security wants.
  TempDir dir;
  const std::string examples = std::string(FULCRUM_SOURCE_DIR) + "/conf/examples/keepalived/";
  for (const char* script : {"check_fulcrum.sh", "notify.sh"})
    REQUIRE(chmod(dir.write(script, readFile(examples + script)).c_str(), 0755) == 0);
  std::array<std::string, 2> events;
  std::array<std::string, 2> keepalived_conf;
  for (int node = 0; node < 2; ++node) {
    events[node] = dir.path() + "/events-" + nodeName(node);
    std::string conf = readFile(examples + "keepalived-" + nodeName(node) + ".conf");
    REQUIRE(conf.find("/etc/keepalived/notify.sh\"") != std::string::npos);
    conf = replaceAll(conf, "/etc/keepalived/notify.sh\"",
                      "/etc/keepalived/notify.sh " + events[node] + "\"");
    keepalived_conf[node] = dir.write("keepalived-" + nodeName(node) + ".conf",
                                      replaceAll(conf, "/etc/keepalived/", dir.path() + "/"));
  }

  // Processes after the namespaces: they end first.
  std::vector<std::unique_ptr<ChildProcess>> backends;
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> argv = net->launcher("backend");
    argv.insert(argv.end(), {FULCRUM_DEMO_BACKEND, "--name", nodeName(node), "--listen",
                             "192.0.2.20:900" + std::to_string(node + 1)});
    backends.push_back(std::make_unique<ChildProcess>(argv));
    REQUIRE(backends.back()->waitForText("listening on"));
  }
  std::array<std::unique_ptr<Proxy>, 2> fulcrum;
  auto startFulcrum = [&](int node) {
    fulcrum[node] = std::make_unique<Proxy>(fulcrumConfig(node), net->launcher(nodeName(node)));
    fulcrum[node]->port("web");
    fulcrum[node]->adminPort();
  };
  std::array<std::unique_ptr<Keepalived>, 2> keepalived;
  for (int node = 0; node < 2; ++node) {
    startFulcrum(node);
    const std::string base = dir.path() + "/" + nodeName(node);
    std::vector<std::string> argv = net->launcher(nodeName(node));
    argv.insert(argv.end(),
                {kKeepalived, "--dont-fork", "--log-console", "--no-syslog", "--vrrp", "--use-file",
                 keepalived_conf[node], "--pid", base + ".pid", "--vrrp_pid", base + "-vrrp.pid",
                 "--checkers_pid", base + "-checkers.pid"});
    keepalived[node] = std::make_unique<Keepalived>(argv);
  }
  auto masters = [&](int node) { return entered(events[node], "MASTER"); };
  if (!waitUntil([&] { return masters(0) + masters(1) > 0; }, kDeadline)) {
    for (int node = 0; node < 2; ++node) {
      std::string said;
      for (const std::string& line : keepalived[node]->process().lines()) said += line + "\n";
      MESSAGE("keepalived on " << nodeName(node) << ":\n" << said);
    }
    FAIL("no keepalived became MASTER");
  }
  int active = masters(0) > 0 ? 0 : 1;

  // While the address is between the nodes (the one leaving drops it, the
  // other takes it within VRRP's skew time, under a second, or after three
  // adverts when it missed the leaving one's last) a SYN is lost, and TCP
  // sends it again after 1s, 3s, 7s: each request's deadline leaves room
  // for that, as a client's connect timeout does.
  PacedClient client(
      {.address = kVirtualAddress,
       .port = kPort,
       .request_deadline = std::chrono::seconds(10),
       .prepare = [&](std::string& failed) { return net->enter("client", failed); }});
  const auto began = Clock::now();
  if (!waitUntil([&] { return client.successesSince(began, nodeName(active)) >= kSettled; },
                 kDeadline))
    FAIL("no answers from " << nodeName(active) << " through the virtual address "
                            << client.error());

  // Waits until `target` served kSettled requests after `from`, then
  // prints and returns what the client saw in between.
  auto settle = [&](const std::string& what, Clock::time_point from, int target) {
    const bool settled = waitUntil(
        [&] { return client.successesSince(from, nodeName(target)) >= kSettled; }, kDeadline);
    PacedWindow w = client.window(from, Clock::now(), nodeName(target));
    MESSAGE(what << ": " << w.requests << " requests, " << w.failures << " failed (" << w.refused
                 << " refused), " << nodeName(target) << " answering after " << w.switch_seconds
                 << "s, longest gap between answers " << w.longest_gap_seconds << "s"
                 << std::string(w.failures > 0 ? "; first failures: " : "") << w.first_failures);
    CHECK(settled);
    return w;
  };

  // 1. The active fulcrum dies: its check fails, the other node takes the address.
  int other = 1 - active;
  int before = masters(other);
  auto from = Clock::now();
  double signalled = epochSeconds();
  fulcrum[active]->process().signal(SIGKILL);
  CHECK(waitUntil([&] { return masters(other) > before; }, kDeadline));
  double moved = lastEntered(events[other], "MASTER") - signalled;
  MESSAGE("SIGKILL " << nodeName(active) << ": " << nodeName(other) << " MASTER after " << moved
                     << "s");
  CHECK(moved < kSwitchBound);
  PacedWindow killed = settle("SIGKILL " + nodeName(active), from, other);
  CHECK(killed.switch_seconds >= 0);
  CHECK(killed.switch_seconds < kSwitchBound);

  // 2. It comes back: its keepalived leaves FAULT for BACKUP and, with
  // nopreempt, the address stays where it is.
  before = entered(events[active], "BACKUP");
  from = Clock::now();
  startFulcrum(active);
  CHECK(waitUntil([&] { return entered(events[active], "BACKUP") > before; }, kDeadline));
  PacedWindow back = settle(nodeName(active) + " back", from, other);
  CHECK(back.failures == 0);
  CHECK(back.served_by_target == back.requests);

  // 3. The active one now drains: /healthz 503 moves the address while it
  // still accepts, so nothing is refused.
  std::swap(active, other);
  before = masters(other);
  from = Clock::now();
  signalled = epochSeconds();
  fulcrum[active]->process().signal(SIGTERM);
  CHECK(waitUntil([&] { return masters(other) > before; }, kDeadline));
  // Within the grace: /healthz moved the address, not the closed listeners.
  moved = lastEntered(events[other], "MASTER") - signalled;
  MESSAGE("SIGTERM " << nodeName(active) << ": " << nodeName(other) << " MASTER after " << moved
                     << "s");
  CHECK(moved < kDrainGraceSeconds);
  PacedWindow drained = settle("SIGTERM (drain) " + nodeName(active), from, other);
  CHECK(drained.refused == 0);
  // VRRP moves the address, not connections: the one request the client
  // may have had open on the leaving node at that instant can be lost (a
  // reset, or silence until its deadline). Nothing else may fail.
  CHECK(drained.failures <= 1);
  CHECK(drained.switch_seconds >= 0);
  CHECK(drained.switch_seconds < kSwitchBound);
  CHECK(fulcrum[active]->process().waitExit() == 0);

  // 4. And comes back.
  before = entered(events[active], "BACKUP");
  from = Clock::now();
  startFulcrum(active);
  CHECK(waitUntil([&] { return entered(events[active], "BACKUP") > before; }, kDeadline));
  PacedWindow back_again = settle(nodeName(active) + " back", from, other);
  CHECK(back_again.failures == 0);
  client.stop();
}

}  // namespace fulcrum::test
