#include "balance/p2c.h"

#include <cassert>
#include <cstdint>

namespace fulcrum::balance {

PowerOfTwoChoices::PowerOfTwoChoices(const upstream::StrategyEnv& env) : env_(env) {}

void PowerOfTwoChoices::rebuild(const upstream::HostSet& hosts) {
  assert(hosts.weights.size() == hosts.hosts.size() && "fill HostSets with add()");
  hosts_ = hosts.hosts;
  weights_ = hosts.weights;
}

const upstream::Server* PowerOfTwoChoices::pick(const upstream::PickContext& ctx) {
  const size_t count = hosts_.size();
  if (count == 0) return nullptr;
  Random& random = *env_.random;

  size_t first = count;
  for (int draw = 0; draw < kDraws && first == count; ++draw) {
    const size_t position = random.below(count);
    if (!ctx.tried.contains(hosts_[position]->index)) first = position;
  }
  if (first == count) return scanUntried(ctx.tried);
  if (count == 1) return hosts_[first];

  for (int draw = 0; draw < kDraws; ++draw) {
    // Uniform over every position but `first`.
    size_t second = random.below(count - 1);
    if (second >= first) ++second;
    if (!ctx.tried.contains(hosts_[second]->index)) return lighter(first, second);
  }
  return scanUntried(ctx.tried);
}

const upstream::Server* PowerOfTwoChoices::lighter(size_t a, size_t b) const {
  const uint64_t load_a = uint64_t{env_.load->active(hosts_[a]->index)} + 1;
  const uint64_t load_b = uint64_t{env_.load->active(hosts_[b]->index)} + 1;
  // load_b / weight_b < load_a / weight_a, without division.
  return load_b * weights_[a] < load_a * weights_[b] ? hosts_[b] : hosts_[a];
}

const upstream::Server* PowerOfTwoChoices::scanUntried(const upstream::TriedSet& tried) {
  size_t untried = 0;
  for (const upstream::Server* server : hosts_)
    if (!tried.contains(server->index)) ++untried;
  if (untried == 0) return nullptr;

  // Two distinct ranks among the untried servers, then one pass to find them.
  const size_t rank_a = env_.random->below(untried);
  size_t rank_b = rank_a;
  if (untried > 1) {
    rank_b = env_.random->below(untried - 1);
    if (rank_b >= rank_a) ++rank_b;
  }
  size_t a = 0;
  size_t b = 0;
  size_t rank = 0;
  for (size_t position = 0; position < hosts_.size(); ++position) {
    if (tried.contains(hosts_[position]->index)) continue;
    if (rank == rank_a) a = position;
    if (rank == rank_b) b = position;
    ++rank;
  }
  return a == b ? hosts_[a] : lighter(a, b);
}

}  // namespace fulcrum::balance
