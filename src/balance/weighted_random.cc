#include "balance/weighted_random.h"

#include <algorithm>
#include <cassert>

namespace fulcrum::balance {

WeightedRandom::WeightedRandom(const upstream::StrategyEnv& env) : random_(*env.random) {}

void WeightedRandom::rebuild(const upstream::HostSet& hosts) {
  assert(hosts.weights.size() == hosts.hosts.size() && "fill HostSets with add()");
  hosts_ = hosts.hosts;
  weights_ = hosts.weights;
  ends_.clear();
  ends_.reserve(hosts_.size());
  total_ = 0;
  for (uint32_t weight : weights_) {
    total_ += weight;
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
  for (size_t position = 0; position < hosts_.size(); ++position)
    if (!tried.contains(hosts_[position]->index)) untried_total += weights_[position];
  if (untried_total == 0) return nullptr;
  uint64_t point = random_.below(untried_total);
  for (size_t position = 0; position < hosts_.size(); ++position) {
    if (tried.contains(hosts_[position]->index)) continue;
    if (point < weights_[position]) return hosts_[position];
    point -= weights_[position];
  }
  return nullptr;  // unreachable: point < untried_total
}

}  // namespace fulcrum::balance
