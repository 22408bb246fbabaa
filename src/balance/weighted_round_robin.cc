#include "balance/weighted_round_robin.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace fulcrum::balance {
namespace {

// Weights with no common factor, scaled down if their cycle would be longer
// than kWrrMaxCycle.
std::vector<uint64_t> reducedWeights(const std::vector<uint32_t>& weights) {
  uint64_t divisor = 0;
  for (uint32_t weight : weights) divisor = std::gcd(divisor, uint64_t{weight});
  std::vector<uint64_t> reduced(weights.size());
  uint64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    reduced[i] = weights[i] / divisor;
    total += reduced[i];
  }
  if (total <= kWrrMaxCycle) return reduced;
  const double scale = static_cast<double>(kWrrMaxCycle) / static_cast<double>(total);
  divisor = 0;
  for (uint64_t& weight : reduced) {
    weight = std::max<uint64_t>(1, std::llround(static_cast<double>(weight) * scale));
    divisor = std::gcd(divisor, weight);
  }
  for (uint64_t& weight : reduced) weight /= divisor;
  return reduced;
}

// Servers of one weight. Their current weights differ only by how often
// each was picked, so they win in turn, in HostSet order: one cursor stands
// for all of them, and a step compares one candidate per distinct weight
// instead of one per server.
struct WeightClass {
  uint64_t weight;
  size_t begin, end;  // their positions: order[begin .. end)
  size_t next;        // order[next] is the one whose turn it is
  uint64_t rounds;    // picks of order[next] so far (those before it have one more)
};

std::shared_ptr<const WrrTable> makeTable(const std::vector<uint32_t>& weights) {
  auto table = std::make_shared<WrrTable>();
  table->host_count = weights.size();
  if (weights.empty()) return table;

  const std::vector<uint64_t> reduced = reducedWeights(weights);
  const uint64_t total = std::accumulate(reduced.begin(), reduced.end(), uint64_t{0});
  std::vector<uint32_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return reduced[a] < reduced[b]; });
  std::vector<WeightClass> classes;
  for (size_t i = 0; i < order.size(); ++i) {
    if (classes.empty() || classes.back().weight != reduced[order[i]])
      classes.push_back({reduced[order[i]], i, i, i, 0});
    classes.back().end = i + 1;
  }

  // After `step` additions a server picked c times has a current weight of
  // step * weight - total * c (nginx: add weight every pick, give back total
  // on a win); the largest wins, the earlier position on a tie.
  table->sequence.reserve(total);
  for (uint64_t step = 1; step <= total; ++step) {
    WeightClass* best = nullptr;
    int64_t best_current = 0;
    uint32_t best_position = 0;
    for (WeightClass& candidate : classes) {
      const uint32_t position = order[candidate.next];
      const auto current = static_cast<int64_t>(step * candidate.weight) -
                           static_cast<int64_t>(total * candidate.rounds);
      if (best == nullptr || current > best_current ||
          (current == best_current && position < best_position)) {
        best = &candidate;
        best_current = current;
        best_position = position;
      }
    }
    table->sequence.push_back(best_position);
    if (++best->next == best->end) {
      best->next = best->begin;
      ++best->rounds;
    }
  }
  return table;
}

}  // namespace

std::shared_ptr<const upstream::StrategyTable> buildWrrTable(
    const upstream::HostSet& hosts, const upstream::StrategyOptions& /*options*/) {
  assert(hosts.weights.size() == hosts.hosts.size() && "fill HostSets with add()");
  return makeTable(hosts.weights);
}

WeightedRoundRobin::WeightedRoundRobin(const upstream::StrategyEnv& env) : random_(*env.random) {}

void WeightedRoundRobin::rebuild(const upstream::HostSet& hosts) {
  assert(hosts.weights.size() == hosts.hosts.size() && "fill HostSets with add()");
  hosts_ = hosts;
  table_ = std::dynamic_pointer_cast<const WrrTable>(hosts.table);
  if (!table_) table_ = makeTable(hosts.weights);
  assert(table_->host_count == hosts_.hosts.size() && "a table built for another HostSet");
  const size_t length = table_->sequence.size();
  cursor_ = length == 0 ? 0 : static_cast<size_t>(random_.below(length));
  current_weight_.assign(hosts_.hosts.size(), 0);
}

void WeightedRoundRobin::setCursorForTest(size_t position) {
  const size_t length = table_ ? table_->sequence.size() : 0;
  cursor_ = length == 0 ? 0 : position % length;
}

const upstream::Server* WeightedRoundRobin::pick(const upstream::PickContext& ctx) {
  if (!table_ || table_->sequence.empty()) return nullptr;
  if (ctx.tried.size() != 0) return pickUntried(ctx.tried);
  const std::vector<uint32_t>& sequence = table_->sequence;
  const uint32_t position = sequence[cursor_];
  cursor_ = cursor_ + 1 == sequence.size() ? 0 : cursor_ + 1;
  return hosts_.hosts[position];
}

const upstream::Server* WeightedRoundRobin::pickUntried(const upstream::TriedSet& tried) {
  size_t best = hosts_.hosts.size();
  int64_t total = 0;
  for (size_t position = 0; position < hosts_.hosts.size(); ++position) {
    if (tried.contains(hosts_.hosts[position]->index)) continue;
    const auto weight = static_cast<int64_t>(hosts_.weights[position]);
    current_weight_[position] += weight;
    total += weight;
    // Strictly greater: on a tie the earlier server wins, as in nginx.
    if (best == hosts_.hosts.size() || current_weight_[position] > current_weight_[best])
      best = position;
  }
  if (best == hosts_.hosts.size()) return nullptr;
  current_weight_[best] -= total;
  return hosts_.hosts[best];
}

}  // namespace fulcrum::balance
