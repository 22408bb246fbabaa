// The cost of balancing one request for every balancing strategy, with 3,
// 30 and 300 servers of varied weights (1..10), nothing tried: the common
// path. Each strategy is built directly (no registry) and rebuilt once, as a
// worker does when its HostSet changes; strategies with a TableBuilder
// (weighted_round_robin, ring_hash, maglev) get their shared table from it,
// and the hash strategies a different key on every pick.
//
// Every pick is followed by what the data path does for a request: started()
// on the picked server and, once kInFlightPerServer requests per server are
// in flight, observeLatency() and finished() on the oldest. So the load
// changes between picks as under real traffic, and least_conn / least_time
// pay for keeping their heaps in order (one sift per change) inside the
// timed loop. The load_updates_only row is that loop with a trivial pick:
// the share of every figure that is not the strategy's.
//
// Alongside ns per pick, the "allocs/pick" counter counts calls to the
// global operator new during the timed loop: neither pick() nor the load
// updates may allocate, and the program exits non-zero when any does.
//
// Build and run: `make bench-pick`.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "balance/least_conn.h"
#include "balance/least_time.h"
#include "balance/maglev.h"
#include "balance/p2c.h"
#include "balance/ring_hash.h"
#include "balance/round_robin.h"
#include "balance/weighted_random.h"
#include "balance/weighted_round_robin.h"

namespace {

uint64_t g_allocations = 0;
bool g_pick_allocated = false;

}  // namespace

// Out of line so the compiler does not pair the malloc inside with a free
// it cannot see through and warn (-Wmismatched-new-delete).
__attribute__((noinline)) void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace {

using namespace fulcrum;
using namespace fulcrum::upstream;

using Clock = LoadTable::Clock;

constexpr size_t kInFlightPerServer = 4;

// Everything a worker would own for one upstream.
struct Upstream {
  explicit Upstream(size_t count) : servers(count), load(count) {
    const auto now = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      servers[i].label = "backend-" + std::to_string(i);
      servers[i].weight = 1 + static_cast<unsigned>(i * 7 % 10);
      servers[i].index = static_cast<uint32_t>(i);
      hosts.add(&servers[i], servers[i].weight);
      // Some load, some latency, so the load-aware strategies compare.
      for (size_t active = 0; active < i % 4; ++active) load.started(static_cast<uint32_t>(i));
      load.observeLatency(static_cast<uint32_t>(i), std::chrono::microseconds(500 + i * 13 % 900),
                          now);
    }
  }

  std::vector<Server> servers;
  HostSet hosts;
  LoadTable load;
  Random random{42};
  StrategyOptions options;
  StrategyEnv env{&random, &load, &options};
};

using TableBuilderFn = std::shared_ptr<const StrategyTable> (*)(const HostSet&,
                                                                      const StrategyOptions&);

template <typename Make>
void benchPick(benchmark::State& state, Make make, TableBuilderFn build_table) {
  const auto count = static_cast<size_t>(state.range(0));
  Upstream upstream(count);
  if (build_table != nullptr) upstream.hosts.table = build_table(upstream.hosts, upstream.options);
  std::unique_ptr<Strategy> strategy = make(upstream);
  strategy->rebuild(upstream.hosts);

  // Request keys for the hash strategies and response times, made before
  // timing; the in-flight ring is allocated here too.
  std::array<uint64_t, 1024> keys{};
  std::array<std::chrono::microseconds, 1024> latencies{};
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i] = upstream.random.next();
    latencies[i] = std::chrono::microseconds(200 + upstream.random.below(2000));
  }
  std::vector<uint32_t> in_flight(count * kInFlightPerServer);
  size_t in_flight_count = 0;
  size_t oldest = 0;
  const TriedSet none;
  auto now = Clock::now();
  size_t key = 0;

  const uint64_t before = g_allocations;
  for (auto _ : state) {
    const Server* server = strategy->pick({none, keys[key], now});
    benchmark::DoNotOptimize(server);
    // The request starts; the oldest in flight answers and ends.
    upstream.load.started(server->index);
    if (in_flight_count == in_flight.size()) {
      const uint32_t done = in_flight[oldest];
      upstream.load.observeLatency(done, latencies[key], now);
      upstream.load.finished(done);
      in_flight[oldest] = server->index;
      oldest = oldest + 1 == in_flight.size() ? 0 : oldest + 1;
    } else {
      in_flight[in_flight_count++] = server->index;
    }
    key = (key + 1) & (keys.size() - 1);
    now += std::chrono::microseconds(1);
  }
  const uint64_t allocations = g_allocations - before;
  if (allocations != 0) g_pick_allocated = true;
  state.counters["allocs/pick"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

template <typename T>
std::unique_ptr<Strategy> makeWithEnv(Upstream& upstream) {
  return std::make_unique<T>(upstream.env);
}

std::unique_ptr<Strategy> makeRoundRobin(Upstream& upstream) {
  return std::make_unique<balance::RoundRobin>(upstream.random);
}

// Not a strategy: takes the hosts in turn, ignoring weights and tried sets,
// so its row is the cost of the loop and the LoadTable calls alone, to
// subtract from the others.
class NextHost final : public Strategy {
 public:
  void rebuild(const HostSet& hosts) override { hosts_ = hosts.hosts; }
  const Server* pick(const PickContext&) override {
    next_ = next_ + 1 == hosts_.size() ? 0 : next_ + 1;
    return hosts_[next_];
  }

 private:
  std::vector<const Server*> hosts_;
  size_t next_ = 0;
};

std::unique_ptr<Strategy> makeNextHost(Upstream&) {
  return std::make_unique<NextHost>();
}

#define PICK_BENCH(name, make, table) \
  BENCHMARK_CAPTURE(benchPick, name, make, table)->Arg(3)->Arg(30)->Arg(300)

PICK_BENCH(load_updates_only, makeNextHost, nullptr);
PICK_BENCH(round_robin, makeRoundRobin, nullptr);
PICK_BENCH(weighted_round_robin, makeWithEnv<balance::WeightedRoundRobin>, &balance::buildWrrTable);
PICK_BENCH(least_conn, makeWithEnv<balance::LeastConn>, nullptr);
PICK_BENCH(least_time, makeWithEnv<balance::LeastTime>, nullptr);
PICK_BENCH(random, makeWithEnv<balance::WeightedRandom>, nullptr);
PICK_BENCH(p2c, makeWithEnv<balance::PowerOfTwoChoices>, nullptr);
PICK_BENCH(ring_hash, makeWithEnv<balance::RingHash>, &balance::buildRing);
PICK_BENCH(maglev, makeWithEnv<balance::Maglev>, &balance::buildMaglevTable);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_pick_allocated) {
    std::fprintf(stderr, "pick_bench: a strategy allocated during pick() (allocs/pick > 0)\n");
    return 1;
  }
  return 0;
}
