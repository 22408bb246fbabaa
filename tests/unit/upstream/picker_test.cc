#include <doctest/doctest.h>

#include <set>

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
  HostSet no_primaries;
  HostSet backups;
  backups.add(&upstream.servers[2], upstream.servers[2].weight);
  picker.rebuild(no_primaries, backups);
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
