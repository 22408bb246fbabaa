// Plain round robin: each pick takes the next server in the HostSet, skipping
// those already tried. Weights are ignored (weighted_round_robin honours them).
// Each worker starts at a random offset so N workers do not hit the same
// server in lockstep after a restart.
#pragma once

#include "upstream/strategy.h"

namespace fulcrum::balance {

class RoundRobin final : public upstream::Strategy {
 public:
  explicit RoundRobin(Random& random) : random_(random) {}

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  Random& random_;
  upstream::HostSet hosts_;
  size_t cursor_ = 0;
};

}  // namespace fulcrum::balance
