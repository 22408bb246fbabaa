// Weighted random: each pick chooses server i with probability
// weight_i / sum of weights (the effective weights, HostSet::weights),
// independently of earlier picks (no state to share, no lockstep between
// workers). rebuild() builds the prefix sums of the weights; a pick draws
// below the total and binary-searches them: O(log n).
//
// Tried servers: the draw is repeated up to kDraws times; if every draw
// lands on a tried server, one linear pass draws among the untried servers
// only, by their weights, so the result is still weighted and a retry always
// finds an untried server when one exists. Reads env.random.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

class WeightedRandom final : public upstream::Strategy {
 public:
  explicit WeightedRandom(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

  static constexpr int kDraws = 4;

 private:
  const upstream::Server* scanUntried(const upstream::TriedSet& tried);

  Random& random_;
  std::vector<const upstream::Server*> hosts_;
  std::vector<uint32_t> weights_;  // parallel to hosts_
  std::vector<uint64_t> ends_;     // ends_[i] = sum of weights of hosts_[0..i]
  uint64_t total_ = 0;
};

}  // namespace fulcrum::balance
