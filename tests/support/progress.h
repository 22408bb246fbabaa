// What a running proxy says about its own progress on its admin listener's
// /status.json: the configuration generation it runs, and what each worker
// has applied (its generation, the health monitor's host-set
// publications). Tests wait on this state, not on log text: each wait asks
// again, with a short backoff, until the condition holds or the deadline
// passes. Failed requests to the admin listener are REQUIREd (doctest).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "support/json.h"
#include "support/process.h"
#include "support/proxy.h"

namespace fulcrum::test {

// The generation the proxy runs from its start, before any reload.
constexpr uint64_t kFirstGeneration = 1;

struct WorkerProgress {
  uint64_t generation = 0;        // the configuration generation it runs
  uint64_t host_set_updates = 0;  // health publications it applied, over all upstreams
};

struct ProxyProgress {
  uint64_t generation = 0;              // the running configuration generation
  std::vector<WorkerProgress> workers;  // by worker index
};

// GET /status.json, parsed: REQUIREs a 200 with a body that parses.
Json readStatus(Proxy& proxy);
ProxyProgress readProgress(Proxy& proxy);

// Reads until `reached` holds: the progress that met it, or nullopt at the
// deadline.
std::optional<ProxyProgress> waitForProgress(
    Proxy& proxy, const std::function<bool(const ProxyProgress&)>& reached,
    std::chrono::milliseconds deadline = kDeadline);

// Until every worker runs `generation` or a later one: from then on every
// new connection and request uses it.
bool waitForGeneration(Proxy& proxy, uint64_t generation,
                       std::chrono::milliseconds deadline = kDeadline);

// Until worker `worker` has applied `updates` host-set publications: from
// then on it picks from the sets of the `updates`-th.
bool waitForHostSetUpdates(Proxy& proxy, size_t worker, uint64_t updates,
                           std::chrono::milliseconds deadline = kDeadline);

}  // namespace fulcrum::test
