#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "balance/registry.h"  // a real strategy to pick with
#include "core/errno_text.h"
#include "core/random.h"
#include "support/loop.h"
#include "upstream/upstream_connector.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using namespace std::chrono_literals;
using test::runUntil;

namespace {

// An upstream of loopback servers "s0", "s1", ... balanced by round robin:
// server i listens when listening[i], else it refuses connections. Its
// picker and connector run on `loop`; members die in reverse, the
// connector before the picker and the upstream it points into.
struct LoopbackUpstream {
  explicit LoopbackUpstream(const std::vector<bool>& listening) {
    upstream.name = "pool";
    upstream.strategy = balance::findStrategy("round_robin");
    upstream.connect_timeout = 5s;
    for (size_t i = 0; i < listening.size(); ++i) {
      uint16_t port = 0;
      sockets.push_back(listening[i] ? test::listenLoopback(port) : test::refusingPort(port));
      REQUIRE(sockets.back());
      Server server;
      server.label = "s" + std::to_string(i);
      server.address = test::loopbackAddress(port);
      server.index = static_cast<uint32_t>(i);
      upstream.servers.push_back(server);
    }
    // Only now: the host set points at the servers in place.
    for (const auto& server : upstream.servers) upstream.primaries.add(&server, server.weight);
    picker = std::make_unique<UpstreamPicker>(upstream, random);
    connector = std::make_unique<UpstreamConnector>(loop, *picker);
  }
  const Server& server(size_t i) const { return upstream.servers[i]; }

  net::EventLoop loop;
  std::vector<test::Fd> sockets;
  Upstream upstream;
  Random random{7};
  std::unique_ptr<UpstreamPicker> picker;
  std::unique_ptr<UpstreamConnector> connector;
};

// Lowers the open files limit for its scope so that the next descriptor
// the process opens fails with EMFILE: fulcrum's own resource, not the
// server's fault.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    int lowest_free = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(lowest_free);
    rlimit tight = saved_;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free);
    setrlimit(RLIMIT_NOFILE, &tight);
  }
  ~NoFreeDescriptors() { setrlimit(RLIMIT_NOFILE, &saved_); }
  NoFreeDescriptors(const NoFreeDescriptors&) = delete;
  NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;

 private:
  rlimit saved_{};
};

}  // namespace

TEST_CASE("upstream connector: next() never returns a server already tried, then none") {
  LoopbackUpstream u({true, true, true});
  UpstreamConnector& connector = *u.connector;
  const Server* first = connector.next(std::nullopt);
  REQUIRE(first != nullptr);
  connector.markTried(*first);
  // Round robin comes back to every server within a few picks; not to this one.
  for (int i = 0; i < 6; ++i) CHECK(connector.next(std::nullopt) != first);

  std::set<uint32_t> tried{first->index};
  for (int i = 0; i < 2; ++i) {
    const Server* server = connector.next(std::nullopt);
    REQUIRE(server != nullptr);
    CHECK(tried.insert(server->index).second);
    connector.markTried(*server);
  }
  CHECK(connector.triedCount() == 3);
  CHECK(connector.next(std::nullopt) == nullptr);
}

TEST_CASE("upstream connector: connect() marks the server tried before its result comes") {
  LoopbackUpstream u({true, true});
  UpstreamConnector& connector = *u.connector;
  const Server* server = connector.next(std::nullopt);
  REQUIRE(server != nullptr);
  bool called = false;
  UpstreamConnectResult result;
  const auto started = std::chrono::steady_clock::now();
  connector.connect(*server, [&](UpstreamConnectResult r) {
    called = true;
    result = std::move(r);
  });
  CHECK_FALSE(called);  // never inside connect()
  CHECK(connector.triedCount() == 1);
  for (int i = 0; i < 4; ++i) CHECK(connector.next(std::nullopt) != server);

  REQUIRE(runUntil(u.loop, [&] { return called; }));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(result.ok());
  CHECK(result.server == server);
  CHECK(result.took.count() > 0);
  CHECK(result.took <= elapsed);
  CHECK(connector.failures().empty());
}

TEST_CASE("upstream connector: failures gather 'label: detail' of every failed connect, in order") {
  LoopbackUpstream u({false, false, true});
  UpstreamConnector& connector = *u.connector;
  std::vector<UpstreamConnectResult> results;
  // s1, then s0, then s2, each started from the callback of the one before.
  std::vector<size_t> order{1, 0, 2};
  std::function<void(UpstreamConnectResult)> next = [&](UpstreamConnectResult result) {
    results.push_back(std::move(result));
    if (results.size() < order.size()) connector.connect(u.server(order[results.size()]), next);
  };
  connector.connect(u.server(order[0]), next);
  REQUIRE(runUntil(u.loop, [&] { return results.size() == order.size(); }));

  CHECK(results[0].failure == net::ConnectFailure::Refused);
  CHECK(results[1].failure == net::ConnectFailure::Refused);
  CHECK(results[2].ok());
  for (size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].server == &u.server(order[i]));
    CHECK(results[i].took.count() > 0);
  }
  const std::string refused = errnoText(ECONNREFUSED);
  CHECK(connector.failures() == "s1: " + refused + "; s0: " + refused);
  CHECK(connector.triedCount() == 3);
}

TEST_CASE("upstream connector: a connect failing for fulcrum's own limits is labelled local") {
  LoopbackUpstream u({true});
  UpstreamConnector& connector = *u.connector;
  bool called = false;
  UpstreamConnectResult result;
  {
    NoFreeDescriptors no_descriptors;
    connector.connect(u.server(0), [&](UpstreamConnectResult r) {
      called = true;
      result = std::move(r);
    });
  }
  REQUIRE(runUntil(u.loop, [&] { return called; }));
  CHECK(result.failure == net::ConnectFailure::LocalResource);
  CHECK(result.local());
  CHECK(result.error_number == EMFILE);
  CHECK(connector.failures() == "local: " + errnoText(EMFILE));
}
