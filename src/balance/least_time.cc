#include "balance/least_time.h"

#include "balance/least_scan.h"

namespace fulcrum::balance {
namespace {

// Lower is better: tier first, then value.
struct Score {
  enum Tier { kUnsampledIdle = 0, kSampled = 1, kUnsampledBusy = 2 };
  Tier tier = kUnsampledIdle;
  double value = 0;

  bool operator<(const Score& other) const {
    return tier != other.tier ? tier < other.tier : value < other.value;
  }
};

}  // namespace

LeastTime::LeastTime(const upstream::StrategyEnv& env) : env_(env) {}

void LeastTime::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts;
  start_ = randomStart(hosts_, *env_.random);
}

const upstream::Server* LeastTime::pick(const upstream::PickContext& ctx) {
  return pickLeast(hosts_, ctx.tried, start_, [&](const upstream::Server& server) {
    const uint32_t active = env_.load->active(server.index);
    const double per_weight =
        (static_cast<double>(active) + 1.0) / static_cast<double>(server.weight);
    const double latency_us = env_.load->latencyUs(server.index, ctx.now);
    if (latency_us == 0) {
      // No sample (or one decayed to nothing): probe it, one at a time.
      return Score{active == 0 ? Score::kUnsampledIdle : Score::kUnsampledBusy, per_weight};
    }
    return Score{Score::kSampled, latency_us * per_weight};
  });
}

}  // namespace fulcrum::balance
