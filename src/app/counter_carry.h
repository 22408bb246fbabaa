// How counters of one configuration generation continue in another. A
// reload builds a new Runtime whose listeners, upstreams and servers may
// be added, removed or reordered; Prometheus counters must go on, never
// back. Two places need the same mapping, so it lives here once:
//  - a worker switching generations carries its own counts over;
//  - a scrape gathers copies from workers that may not all have switched
//    yet, and renders every copy in the shape of the generation it renders.
// What continues: a listener with the same name and address (or, failing
// that, the same fixed port: the same sockets), an upstream with the same
// name, a server with the same address as written in it (sameServer).
// Everything else starts at 0.
// Pure functions, any thread.
#pragma once

#include <vector>

#include "app/runtime.h"
#include "metrics/worker_metrics.h"

namespace fulcrum::app {

// Whether server `s` of upstream `u` in `a` is server `t` of upstream `v`
// in `b` across a reload: the same upstream name and the address as
// written (what the health monitor carries state by, too), so a server
// keeps its health, its pooled connections and its counts together.
bool sameServer(const Runtime& a, size_t u, uint32_t s, const Runtime& b, size_t v, uint32_t t);

// For each listener of `to`, the index of the listener of `from` it
// continues (keeps the sockets and counts of), or -1 for a new one.
std::vector<int> matchListeners(const Runtime& from, const Runtime& to);

// Zeroed counters in the shape of `runtime` (one entry per listener,
// upstream and server; requests by upstream index + 1).
metrics::WorkerMetrics countersShapedFor(const Runtime& runtime);

// Adds `counts` (in the shape of `from`) to `into` (in the shape of `to`).
// `listener_from` is matchListeners(from, to), or a reload's plan.
void carryCounters(const Runtime& from, const metrics::WorkerMetrics& counts, const Runtime& to,
                   const std::vector<int>& listener_from, metrics::WorkerMetrics& into);

}  // namespace fulcrum::app
