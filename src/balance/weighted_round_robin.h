// Smooth weighted round robin, nginx's algorithm: on every pick each
// candidate's current weight grows by its weight, the largest current weight
// wins, and the winner gives back the total of the candidates' weights. Over
// any run of W picks (W = sum of weights) each server is picked exactly
// `weight` times, spread out: weights 5,1,1 give a a b a c a a.
//
// Tried servers are not candidates: they neither win nor gain current weight
// on that pick, and the total given back is that of the untried servers only
// (what nginx does with its per-request `tried` bitmap). With nothing tried
// the sequence is the exact one above.
//
// A pick is O(n) in the number of servers (nginx's cost too); use random or
// p2c for very large sets. rebuild() resets every current weight to 0, so a
// rebuild restarts the cycle.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/strategy.h"

namespace fulcrum::balance {

class WeightedRoundRobin final : public upstream::Strategy {
 public:
  explicit WeightedRoundRobin(const upstream::StrategyEnv& env);

  void rebuild(const upstream::HostSet& hosts) override;
  const upstream::Server* pick(const upstream::PickContext& ctx) override;

 private:
  struct Peer {
    const upstream::Server* server;
    int64_t current_weight;
  };
  std::vector<Peer> peers_;
};

}  // namespace fulcrum::balance
