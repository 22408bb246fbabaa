// least_conn and least_time keep their servers in a heap that follows the
// LoadTable; these tests hold them to the O(n) definition (score every
// untried server, take the lowest) over long random runs of load changes,
// latency samples, picks with and without tried sets, and rebuilds, with a
// primaries and a backups strategy sharing one LoadTable as in a worker.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "balance/least_conn.h"
#include "balance/least_time.h"
#include "support/balance_fixture.h"

using namespace fulcrum;
using namespace fulcrum::upstream;
using namespace std::chrono_literals;

namespace {

using Clock = LoadTable::Clock;
constexpr size_t kServers = 40;
constexpr uint32_t kNone = UINT32_MAX;

// What the brute-force reference must remember about one strategy: its
// HostSet, when each position was last picked, and which random start
// offsets are still consistent with the picks seen (the strategy's is
// hidden; every answer it gives must fit one of them).
struct Reference {
  HostSet set;
  std::vector<uint32_t> position_of = std::vector<uint32_t>(kServers, kNone);
  std::vector<int64_t> last_pick;  // by position; -1: never picked
  std::vector<bool> possible_start;
  int64_t clock = 0;

  void reset(HostSet hosts) {
    set = std::move(hosts);
    position_of.assign(kServers, kNone);
    for (uint32_t p = 0; p < set.hosts.size(); ++p) position_of[set.hosts[p]->index] = p;
    last_pick.assign(set.hosts.size(), -1);
    possible_start.assign(set.hosts.size(), true);
  }

  // Among `tied` (positions with the same lowest score), the one the
  // strategy must pick: least recently picked; never-picked ones are older
  // than any picked one and rank by (position - start) mod n.
  void checkTieBreak(const std::vector<uint32_t>& tied, uint32_t got) {
    const auto n = static_cast<uint32_t>(set.hosts.size());
    std::vector<uint32_t> never;
    for (uint32_t p : tied)
      if (last_pick[p] < 0) never.push_back(p);
    if (never.empty()) {
      uint32_t oldest = tied.front();
      for (uint32_t p : tied)
        if (last_pick[p] < last_pick[oldest]) oldest = p;
      CHECK(got == oldest);
      return;
    }
    bool any = false;
    for (uint32_t start = 0; start < n; ++start) {
      if (!possible_start[start]) continue;
      uint32_t first = never.front();
      for (uint32_t p : never)
        if ((p + n - start) % n < (first + n - start) % n) first = p;
      possible_start[start] = first == got;
      any = any || possible_start[start];
    }
    CHECK(any);
  }

  void picked(uint32_t position) { last_pick[position] = clock++; }
};

std::vector<uint32_t> untried(const Reference& ref, const TriedSet& tried) {
  std::vector<uint32_t> out;
  for (uint32_t p = 0; p < ref.set.hosts.size(); ++p)
    if (!tried.contains(ref.set.hosts[p]->index)) out.push_back(p);
  return out;
}

// least_conn: (active + 1) / weight, exact; ties by the reference's order.
void checkLeastConn(Reference& ref, const LoadTable& load, const TriedSet& tried,
                    const Server* got) {
  const std::vector<uint32_t> candidates = untried(ref, tried);
  if (candidates.empty()) {
    CHECK(got == nullptr);
    return;
  }
  REQUIRE(got != nullptr);
  const uint32_t got_position = ref.position_of[got->index];
  REQUIRE(got_position != kNone);
  const auto load_of = [&](uint32_t p) {
    return uint64_t{load.active(ref.set.hosts[p]->index)} + 1;
  };
  uint32_t best = candidates.front();
  for (uint32_t p : candidates)
    if (load_of(p) * ref.set.weights[best] < load_of(best) * ref.set.weights[p]) best = p;
  std::vector<uint32_t> tied;
  for (uint32_t p : candidates)
    if (load_of(p) * ref.set.weights[best] == load_of(best) * ref.set.weights[p]) tied.push_back(p);
  ref.checkTieBreak(tied, got_position);
  ref.picked(got_position);
}

struct TimeScore {
  int tier;
  double value;
};

// least_time's definition at `now`, as the O(n) scan computed it.
TimeScore timeScore(const Reference& ref, const LoadTable& load, uint32_t p,
                    Clock::time_point now) {
  const uint32_t index = ref.set.hosts[p]->index;
  const double per_weight = (load.active(index) + 1.0) / ref.set.weights[p];
  const double latency = load.latencyUs(index, now);
  if (latency == 0) return {load.active(index) == 0 ? 0 : 2, per_weight};
  return {1, latency * per_weight};
}

// least_time: the pick must be in the lowest tier and score within rounding
// (1e-9 relative) of the lowest: the heap ranks by logarithms, so two scores
// equal in exact arithmetic may round apart.
void checkLeastTime(const Reference& ref, const LoadTable& load, const TriedSet& tried,
                    const Server* got, Clock::time_point now) {
  const std::vector<uint32_t> candidates = untried(ref, tried);
  if (candidates.empty()) {
    CHECK(got == nullptr);
    return;
  }
  REQUIRE(got != nullptr);
  const uint32_t got_position = ref.position_of[got->index];
  REQUIRE(got_position != kNone);
  CHECK_FALSE(tried.contains(got->index));
  TimeScore best{3, 0};
  for (uint32_t p : candidates) {
    const TimeScore score = timeScore(ref, load, p, now);
    if (score.tier < best.tier || (score.tier == best.tier && score.value < best.value))
      best = score;
  }
  const TimeScore mine = timeScore(ref, load, got_position, now);
  CHECK(mine.tier == best.tier);
  CHECK(mine.value <= best.value * (1 + 1e-9));
}

// One worker's upstream of kServers servers: effective weights drawn from a
// short list (so ties are frequent), split into primaries and backups.
struct World {
  explicit World(uint64_t seed) : worker(kServers, seed), random(seed * 7919 + 1) {
    servers = test::makeServers(kServers);
  }

  uint32_t drawWeight() {
    static constexpr uint32_t kWeights[] = {1, 2, 3, 4, 10, 20, 2560};
    return kWeights[random.below(std::size(kWeights))];
  }

  // Every server with index % 5 == role (backups) or != 0 (primaries), each
  // kept with probability `keep` percent.
  HostSet drawSet(bool backups, uint64_t keep) {
    HostSet set;
    for (const Server& server : servers)
      if ((server.index % 5 == 0) == backups && random.below(100) < keep)
        set.add(&server, drawWeight());
    return set;
  }

  // Mostly nothing; sometimes a few servers of either set; rarely all but one.
  TriedSet drawTried() {
    TriedSet tried;
    const uint64_t kind = random.below(100);
    if (kind < 70) return tried;
    const uint64_t count = kind < 97 ? 1 + random.below(6) : kServers - 1;
    for (uint64_t i = 0; i < count; ++i) tried.add(static_cast<uint32_t>(random.below(kServers)));
    return tried;
  }

  test::WorkerEnv worker;
  Random random;
  std::vector<Server> servers;
  std::vector<uint32_t> in_flight;
};

// Drives `S` (primaries and backups) through a random run; `check` compares
// every pick with the reference.
template <typename S, typename Check>
void randomRun(uint64_t seed, int steps, bool latencies, Check check) {
  World world(seed);
  LoadTable& load = world.worker.load;
  Clock::time_point now{std::chrono::hours(1)};
  Reference refs[2];
  std::unique_ptr<S> strategies[2];
  for (int role = 0; role < 2; ++role) {
    strategies[role] = std::make_unique<S>(world.worker.env);
    refs[role].reset(world.drawSet(role == 1, 100));
    strategies[role]->rebuild(refs[role].set);
  }

  for (int step = 0; step < steps; ++step) {
    const uint64_t op = world.random.below(100);
    if (op < 50) {
      const int role = world.random.below(4) == 0 ? 1 : 0;
      const TriedSet tried = world.drawTried();
      const Server* got = strategies[role]->pick({tried, 0, now});
      check(refs[role], load, tried, got, now);
      if (got != nullptr) {
        load.started(got->index);
        world.in_flight.push_back(got->index);
      }
    } else if (op < 85) {
      if (world.in_flight.empty()) continue;
      const size_t at = world.random.below(world.in_flight.size());
      const uint32_t index = world.in_flight[at];
      world.in_flight[at] = world.in_flight.back();
      world.in_flight.pop_back();
      if (latencies)
        load.observeLatency(index, std::chrono::microseconds(500 + world.random.below(200000)),
                            now);
      load.finished(index);
    } else if (op < 95) {
      // Traffic this strategy did not pick (the other set, another route).
      const auto index = static_cast<uint32_t>(world.random.below(kServers));
      load.started(index);
      world.in_flight.push_back(index);
    } else if (op < 99) {
      now += std::chrono::milliseconds(world.random.below(3000));
    } else {
      const int role = static_cast<int>(world.random.below(2));
      refs[role].reset(world.drawSet(role == 1, 80));
      strategies[role]->rebuild(refs[role].set);
    }
  }
}

}  // namespace

TEST_CASE("least conn's heap agrees with a brute-force scan over random loads and tried sets") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    randomRun<balance::LeastConn>(
        seed, 20000, false,
        [](Reference& ref, const LoadTable& load, const TriedSet& tried, const Server* got,
           Clock::time_point) { checkLeastConn(ref, load, tried, got); });
  }
}

TEST_CASE("least time's heap agrees with a brute-force scan over random latencies and loads") {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    randomRun<balance::LeastTime>(
        seed, 20000, true,
        [](Reference& ref, const LoadTable& load, const TriedSet& tried, const Server* got,
           Clock::time_point now) { checkLeastTime(ref, load, tried, got, now); });
  }
}

TEST_CASE("least conn ignores load changes of servers outside its host set") {
  test::StrategyFixture<balance::LeastConn, 1> f({1, 1, 1, 1});
  f.strategy.rebuild(test::hostSetOf(f.servers, 3));
  for (int i = 0; i < 10; ++i) f.load.started(3);
  f.setActive(0, 1);
  f.setActive(1, 1);
  TriedSet none;
  CHECK(f.strategy.pick({none})->index == 2);
}

TEST_CASE("a least conn strategy stops observing the load table when it is destroyed") {
  test::WorkerEnv worker(3, 1);
  auto servers = test::makeServers(3);
  {
    balance::LeastConn gone(worker.env);
    gone.rebuild(test::hostSetOf(servers));
  }
  balance::LeastConn kept(worker.env);
  kept.rebuild(test::hostSetOf(servers));
  // A dangling observer would be called here (and trip ASan).
  worker.setActive(0, 2);
  worker.setActive(1, 1);
  TriedSet none;
  CHECK(kept.pick({none})->index == 2);
}
