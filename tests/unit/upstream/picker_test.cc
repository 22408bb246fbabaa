#include <doctest/doctest.h>

#include <set>
#include <string>

#include "balance/registry.h"  // a real strategy to pick with
#include "upstream/picker.h"

using namespace fulcrum;
using namespace fulcrum::upstream;

namespace {

// Fills in place: the host sets point at the servers inside `upstream`.
void fillUpstream(Upstream& upstream, int primaries, int backups) {
  upstream.name = "pool";
  upstream.strategy = balance::findStrategy("round_robin");
  for (int i = 0; i < primaries + backups; ++i) {
    Server server;
    server.label = (i < primaries ? "p" : "b") + std::to_string(i);
    server.backup = i >= primaries;
    server.index = static_cast<uint32_t>(i);
    upstream.servers.push_back(server);
  }
  for (const auto& server : upstream.servers)
    (server.backup ? upstream.backups : upstream.primaries).add(&server, server.weight);
}

}  // namespace

TEST_CASE("backups are picked only after every primary was tried") {
  Random random(3);
  Upstream upstream;
  fillUpstream(upstream, 3, 2);
  UpstreamPicker picker(upstream, random);
  TriedSet tried;
  for (int i = 0; i < 3; ++i) {
    const Server* server = picker.pick(tried);
    REQUIRE(server != nullptr);
    CHECK_FALSE(server->backup);
    tried.add(server->index);
  }
  std::set<std::string> backups;
  for (int i = 0; i < 2; ++i) {
    const Server* server = picker.pick(tried);
    REQUIRE(server != nullptr);
    CHECK(server->backup);
    backups.insert(server->label);
    tried.add(server->index);
  }
  CHECK(backups.size() == 2);
  CHECK(picker.pick(tried) == nullptr);
}

TEST_CASE("with no primary usable, backups take the traffic") {
  Random random(5);
  Upstream upstream;
  fillUpstream(upstream, 2, 1);
  UpstreamPicker picker(upstream, random);
  HostSets hosts;
  hosts.backups.add(&upstream.servers[2], upstream.servers[2].weight);
  picker.rebuild(hosts);
  TriedSet none;
  CHECK(picker.pick(none)->label == "b2");
}

TEST_CASE("the tried set holds indexes past the inline 64") {
  TriedSet tried;
  for (uint32_t i : {0u, 63u, 64u, 200u}) tried.add(i);
  CHECK(tried.contains(0));
  CHECK(tried.contains(63));
  CHECK(tried.contains(64));
  CHECK(tried.contains(200));
  CHECK_FALSE(tried.contains(1));
  CHECK_FALSE(tried.contains(199));
  CHECK_FALSE(tried.contains(1000));
  CHECK(tried.size() == 4);
}

TEST_CASE("an upstream of backups only takes every request on them") {
  // Hash strategies need their table built from the config; the keyless
  // ones show that an empty primary set hands every pick to the backups.
  for (std::string name : {"round_robin", "least_conn", "random"}) {
    CAPTURE(name);
    Random random(7);
    Upstream upstream;
    fillUpstream(upstream, 0, 2);
    upstream.strategy = balance::findStrategy(name);
    REQUIRE(upstream.strategy != nullptr);
    UpstreamPicker picker(upstream, random);
    TriedSet tried;
    for (int i = 0; i < 2; ++i) {
      const Server* server = picker.pick(tried, uint64_t{42});
      REQUIRE(server != nullptr);
      CHECK(server->backup);
      tried.add(server->index);
    }
    CHECK(picker.pick(tried, uint64_t{42}) == nullptr);
  }
}

TEST_CASE("standby servers are taken in turn, never twice for one request") {
  Random random(9);
  Upstream upstream;
  fillUpstream(upstream, 3, 0);
  UpstreamPicker picker(upstream, random);
  HostSets hosts;
  hosts.primaries.add(&upstream.servers[0], 1);
  hosts.standby = {&upstream.servers[1], &upstream.servers[2]};
  picker.rebuild(hosts);

  TriedSet first;
  CHECK(picker.pick(first)->label == "p0");  // standby is not in the rotation
  first.add(0);
  CHECK(picker.pick(first) == nullptr);
  const Server* a = picker.pickStandby(first);
  REQUIRE(a != nullptr);
  first.add(a->index);
  const Server* b = picker.pickStandby(first);
  REQUIRE(b != nullptr);
  CHECK(a != b);
  first.add(b->index);
  CHECK(picker.pickStandby(first) == nullptr);

  // The next request starts where the last one left off.
  TriedSet second;
  second.add(0);
  const Server* c = picker.pickStandby(second);
  REQUIRE(c != nullptr);
  CHECK(c == a);
  TriedSet third;
  CHECK(picker.pickStandby(third) != c);
}
