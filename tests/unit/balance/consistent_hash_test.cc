// The contract every consistent-hash table keeps, run on both: the ring
// (ring_hash) and the Maglev table. What only one of them promises (how
// many keys move, how evenly, its options) stays in its own test file.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "balance/maglev.h"
#include "balance/ring_hash.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using test::keyHash;

namespace {

struct RingCase {
  using Strategy = balance::RingHash;
  static std::shared_ptr<const StrategyTable> build(const HostSet& hosts,
                                                    const StrategyOptions& options) {
    return balance::buildRing(hosts, options);
  }
  // A table of another strategy.
  static std::shared_ptr<const StrategyTable> buildOther(const HostSet& hosts,
                                                         const StrategyOptions& options) {
    return balance::buildMaglevTable(hosts, options);
  }
};

struct MaglevCase {
  using Strategy = balance::Maglev;
  static std::shared_ptr<const StrategyTable> build(const HostSet& hosts,
                                                    const StrategyOptions& options) {
    return balance::buildMaglevTable(hosts, options);
  }
  static std::shared_ptr<const StrategyTable> buildOther(const HostSet& hosts,
                                                         const StrategyOptions& options) {
    return balance::buildRing(hosts, options);
  }
};

}  // namespace

// Test names say which table ran.
TYPE_TO_STRING(RingCase);
TYPE_TO_STRING(MaglevCase);

namespace {

template <typename Case>
using Picker = test::HashPicker<typename Case::Strategy, 7>;

template <typename Case>
HostSet hashHostSet(const std::vector<Server>& servers, const StrategyOptions& options) {
  return test::hashHostSetOf(servers, &Case::build, options);
}

std::vector<Server> makeServers(size_t count) {
  return test::makeServers(count, test::addressLabel);
}

}  // namespace

TEST_CASE_TEMPLATE("consistent hash sends the same key to the same server on every instance", Case,
                   RingCase, MaglevCase) {
  StrategyOptions options;
  // Two instances: separate Server objects, separately built tables.
  auto servers_a = makeServers(10);
  auto servers_b = makeServers(10);
  HostSet hosts_a = hashHostSet<Case>(servers_a, options);
  HostSet hosts_b = hashHostSet<Case>(servers_b, options);
  Picker<Case> a(hosts_a, options, 10);
  Picker<Case> b(hosts_b, options, 10);
  for (uint64_t i = 0; i < 10000; ++i) {
    const Server* first = a.pick(keyHash(i));
    REQUIRE(first != nullptr);
    CHECK(a.pick(keyHash(i)) == first);
    REQUIRE(b.pick(keyHash(i)) != nullptr);
    CHECK(b.pick(keyHash(i))->label == first->label);
  }
}

TEST_CASE_TEMPLATE("consistent hash does not depend on the order of the host set", Case, RingCase,
                   MaglevCase) {
  StrategyOptions options;
  auto servers = makeServers(10);
  HostSet forward = hashHostSet<Case>(servers, options);
  HostSet reversed;
  for (auto it = forward.hosts.rbegin(); it != forward.hosts.rend(); ++it)
    reversed.add(*it, (*it)->weight);
  reversed.table = Case::build(reversed, options);
  Picker<Case> a(forward, options, 10);
  Picker<Case> b(reversed, options, 10);
  for (uint64_t i = 0; i < 10000; ++i) CHECK(a.pick(keyHash(i)) == b.pick(keyHash(i)));
}

TEST_CASE_TEMPLATE("consistent hash ignores tried servers outside its host set", Case, RingCase,
                   MaglevCase) {
  StrategyOptions options;
  auto servers = makeServers(3);
  HostSet hosts = hashHostSet<Case>(servers, options);
  Picker<Case> picker(hosts, options, servers.size());
  TriedSet tried;
  tried.add(0);
  tried.add(1);
  tried.add(70);  // not in this host set
  for (uint64_t i = 0; i < 100; ++i)
    CHECK(picker.strategy.pick({tried, keyHash(i)}) == &servers[2]);
}

TEST_CASE_TEMPLATE(
    "consistent hash over an empty host set, without a table or with another's picks nothing", Case,
    RingCase, MaglevCase) {
  StrategyOptions options;
  HostSet empty;
  empty.table = Case::build(empty, options);
  Picker<Case> on_empty(empty, options, 0);
  CHECK(on_empty.pick(keyHash(1)) == nullptr);

  auto servers = makeServers(3);
  HostSet no_table = test::hostSetOf(servers);
  Picker<Case> without_table(no_table, options, servers.size());
  CHECK(without_table.pick(keyHash(1)) == nullptr);

  // Another strategy's table is no table for this one.
  HostSet other_table = test::hashHostSetOf(servers, &Case::buildOther, options);
  Picker<Case> with_other(other_table, options, servers.size());
  CHECK(with_other.pick(keyHash(1)) == nullptr);

  // Never rebuilt at all.
  test::WorkerEnv worker(0, 1, &options);
  typename Case::Strategy fresh(worker.env);
  TriedSet none;
  CHECK(fresh.pick({none, keyHash(1)}) == nullptr);
}
