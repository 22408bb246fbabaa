#include "balance/weighted_round_robin.h"

namespace fulcrum::balance {

WeightedRoundRobin::WeightedRoundRobin(const upstream::StrategyEnv& /*env*/) {}

void WeightedRoundRobin::rebuild(const upstream::HostSet& hosts) {
  peers_.clear();
  peers_.reserve(hosts.hosts.size());
  for (const upstream::Server* server : hosts.hosts) peers_.push_back({server, 0});
}

const upstream::Server* WeightedRoundRobin::pick(const upstream::PickContext& ctx) {
  Peer* best = nullptr;
  int64_t total = 0;
  for (Peer& peer : peers_) {
    if (ctx.tried.contains(peer.server->index)) continue;
    const auto weight = static_cast<int64_t>(peer.server->weight);
    peer.current_weight += weight;
    total += weight;
    // Strictly greater: on a tie the earlier server wins, as in nginx, which
    // is what makes the sequence for 5,1,1 exactly a a b a c a a.
    if (best == nullptr || peer.current_weight > best->current_weight) best = &peer;
  }
  if (best == nullptr) return nullptr;
  best->current_weight -= total;
  return best->server;
}

}  // namespace fulcrum::balance
