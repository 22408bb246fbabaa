#include "balance/weighted_random.h"

#include <algorithm>

namespace fulcrum::balance {

WeightedRandom::WeightedRandom(const upstream::StrategyEnv& env) : random_(*env.random) {}

void WeightedRandom::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts.hosts;
  ends_.clear();
  ends_.reserve(hosts_.size());
  total_ = 0;
  for (const upstream::Server* server : hosts_) {
    total_ += server->weight;
    ends_.push_back(total_);
  }
}

const upstream::Server* WeightedRandom::pick(const upstream::PickContext& ctx) {
  if (hosts_.empty()) return nullptr;
  for (int draw = 0; draw < kDraws; ++draw) {
    const uint64_t point = random_.below(total_);
    // The first host whose range [end - weight, end) holds the point.
    const auto it = std::upper_bound(ends_.begin(), ends_.end(), point);
    const upstream::Server* server = hosts_[static_cast<size_t>(it - ends_.begin())];
    if (!ctx.tried.contains(server->index)) return server;
  }
  return scanUntried(ctx.tried);
}

const upstream::Server* WeightedRandom::scanUntried(const upstream::TriedSet& tried) {
  uint64_t untried_total = 0;
  for (const upstream::Server* server : hosts_)
    if (!tried.contains(server->index)) untried_total += server->weight;
  if (untried_total == 0) return nullptr;
  uint64_t point = random_.below(untried_total);
  for (const upstream::Server* server : hosts_) {
    if (tried.contains(server->index)) continue;
    if (point < server->weight) return server;
    point -= server->weight;
  }
  return nullptr;  // unreachable: point < untried_total
}

}  // namespace fulcrum::balance
