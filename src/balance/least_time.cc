#include "balance/least_time.h"

namespace fulcrum::balance {
namespace {

// Lower is better: tier first, then value.
struct Score {
  enum Tier { kUnsampledIdle = 0, kSampled = 1, kUnsampledBusy = 2 };
  Tier tier;
  double value;

  bool operator<(const Score& other) const {
    return tier != other.tier ? tier < other.tier : value < other.value;
  }
};

}  // namespace

LeastTime::LeastTime(const upstream::StrategyEnv& env) : env_(env) {}

void LeastTime::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts;
  start_ = hosts_.hosts.empty() ? 0 : env_.random->below(hosts_.hosts.size());
}

const upstream::Server* LeastTime::pick(const upstream::PickContext& ctx) {
  const size_t count = hosts_.hosts.size();
  const upstream::Server* best = nullptr;
  size_t best_position = 0;
  Score best_score{Score::kUnsampledIdle, 0};
  size_t position = start_;
  for (size_t step = 0; step < count; ++step) {
    const upstream::Server* server = hosts_.hosts[position];
    if (!ctx.tried.contains(server->index)) {
      const uint32_t active = env_.load->active(server->index);
      const double per_weight =
          (static_cast<double>(active) + 1.0) / static_cast<double>(server->weight);
      const double latency_us = env_.load->latencyUs(server->index, ctx.now);
      Score score{Score::kSampled, latency_us * per_weight};
      if (latency_us == 0) {
        // No sample (or one decayed to nothing): probe it, one at a time.
        score = {active == 0 ? Score::kUnsampledIdle : Score::kUnsampledBusy, per_weight};
      }
      if (best == nullptr || score < best_score) {
        best = server;
        best_position = position;
        best_score = score;
      }
    }
    position = position + 1 == count ? 0 : position + 1;
  }
  if (best != nullptr) start_ = best_position + 1 == count ? 0 : best_position + 1;
  return best;
}

}  // namespace fulcrum::balance
