// Least time: picks the untried server with the lowest expected wait,
//   score = latency * (active + 1) / weight,
// where latency is this worker's decayed peak-EWMA of response time (HTTP)
// or connect time (TCP) (LoadTable::latencyUs), active is the number in
// flight and weight the effective weight (HostSet::weights). A slow server
// is avoided at once (peak-EWMA takes a slower sample immediately); an idle
// one's latency fades toward 0, so it is tried again and a faster sample
// brings it back.
//
// A server with no sample yet scores lowest while it has nothing in flight,
// so it gets tried. While its first request is still in flight it scores
// highest instead (Finagle's peak-EWMA penalty), so a new or recovered server
// receives one probe at a time rather than every request until the first
// answer. Among such servers, and among idle ones, (active + 1) / weight
// decides.
//
// The decay is one exponential with one time constant for every server, so
// the order of sampled servers does not change as time passes, only when a
// sample or a load change arrives: they are ranked by the logarithm of the
// score, LoadTable::latencyRank + ln((active + 1) / weight), which moves only
// on those events. That lets a heap hold them (see LeastScore): a pick is
// O(1) plus O(log n) bookkeeping, a load change O(log n) (one log()), a retry
// with t tried servers O(t log t). ctx.now is not needed. A sampled server
// stays in the sampled tier however far its latency has decayed (it is then
// the lowest there anyway), rather than turning "unsampled" when the decayed
// value underflows to 0 after hours without an answer.
//
// Ties go round robin (least recently picked first); each worker starts at
// a random offset. One per worker; it registers with env.load, which must
// outlive it.
#pragma once

#include <cstdint>
#include <vector>

#include "balance/least_score.h"

namespace fulcrum::balance {

// Lower is better: tier first, then value.
struct TimeScore {
  enum Tier { kUnsampledIdle = 0, kSampled = 1, kUnsampledBusy = 2 };
  Tier tier = kUnsampledIdle;
  // kSampled: the log of the score, as above. Otherwise (active + 1) / weight.
  double value = 0;

  bool operator<(const TimeScore& other) const {
    return tier != other.tier ? tier < other.tier : value < other.value;
  }
};

class LeastTime final : public LeastScore<LeastTime, TimeScore> {
 public:
  explicit LeastTime(const upstream::StrategyEnv& env) : LeastScore(env) {}

 private:
  friend class LeastScore<LeastTime, TimeScore>;
  static constexpr bool kScoresLatency = true;
  TimeScore scoreOf(uint32_t position, uint32_t index) const;
  void prepare();

  // ln(weight) by position: every load change re-scores one server, and
  // this spares it a log().
  std::vector<double> log_weight_;
};

}  // namespace fulcrum::balance
