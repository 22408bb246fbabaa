// The scan least_conn and least_time share: the untried server with the
// lowest score, starting just after the last server picked so that ties go
// round robin. O(n) per pick, no allocation. `Score` needs operator<.
#pragma once

#include <cstddef>

#include "core/random.h"
#include "upstream/host_set.h"
#include "upstream/tried_set.h"

namespace fulcrum::balance {

// A random start per worker, so workers do not scan in lockstep.
inline size_t randomStart(const upstream::HostSet& hosts, Random& random) {
  return hosts.hosts.empty() ? 0 : random.below(hosts.hosts.size());
}

// `start` is the strategy's rotating position; it moves past the winner.
template <class ScoreOf>
const upstream::Server* pickLeast(const upstream::HostSet& hosts, const upstream::TriedSet& tried,
                                  size_t& start, ScoreOf score_of) {
  const size_t count = hosts.hosts.size();
  const upstream::Server* best = nullptr;
  size_t best_position = 0;
  decltype(score_of(*hosts.hosts.front())) best_score{};
  size_t position = start;
  for (size_t step = 0; step < count; ++step) {
    const upstream::Server* server = hosts.hosts[position];
    if (!tried.contains(server->index)) {
      auto score = score_of(*server);
      if (best == nullptr || score < best_score) {
        best = server;
        best_position = position;
        best_score = score;
      }
    }
    position = position + 1 == count ? 0 : position + 1;
  }
  if (best != nullptr) start = best_position + 1 == count ? 0 : best_position + 1;
  return best;
}

}  // namespace fulcrum::balance
