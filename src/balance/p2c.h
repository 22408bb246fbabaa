// Power of two choices: draws two distinct untried servers uniformly at
// random and picks the one with fewer requests (HTTP) or connections (TCP) in
// flight per unit of effective weight (HostSet::weights), (active + 1) /
// weight, compared by cross multiplication; on a tie, the first drawn.
// Weight enters only through that comparison (a weighted draw as well would
// count it twice). With one untried server, that server; with none, nullptr.
//
// A pick is O(1) when nothing is tried. Tried servers: each draw is repeated
// up to kDraws times; then one linear pass counts the untried servers and
// draws the two among them, O(n). Reads env.random and env.load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

class PowerOfTwoChoices final : public upstream::Strategy {
 public:
  explicit PowerOfTwoChoices(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

  static constexpr int kDraws = 4;

 private:
  // Of the servers at positions a and b, the one with less load per weight.
  const upstream::Server* lighter(size_t a, size_t b) const;
  const upstream::Server* scanUntried(const upstream::TriedSet& tried);

  upstream::StrategyEnv env_;
  std::vector<const upstream::Server*> hosts_;
  std::vector<uint32_t> weights_;  // parallel to hosts_
};

}  // namespace fulcrum::balance
