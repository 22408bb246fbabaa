#include "balance/ring_hash.h"

#include <xxhash.h>

#include <algorithm>
#include <string>

namespace fulcrum::balance {

namespace {

// Fixed, so a label hashes to the same points in every process.
constexpr XXH64_hash_t kRingSeed = 0x6b6574616d61ULL;  // "ketama"

bool anyUntried(const std::vector<const upstream::Server*>& hosts,
                const upstream::TriedSet& tried) {
  for (const upstream::Server* server : hosts)
    if (!tried.contains(server->index)) return true;
  return false;
}

}  // namespace

std::shared_ptr<const upstream::StrategyTable> buildRing(const upstream::HostSet& hosts,
                                                         const upstream::StrategyOptions& options) {
  auto ring = std::make_shared<RingTable>();
  ring->hosts = hosts.hosts;
  size_t total = 0;
  for (const upstream::Server* server : hosts.hosts)
    total += size_t{options.ring_points_per_weight} * server->weight;
  ring->points.reserve(total);

  std::string key;
  for (const upstream::Server* server : hosts.hosts) {
    const size_t count = size_t{options.ring_points_per_weight} * server->weight;
    for (size_t i = 0; i < count; ++i) {
      key.assign(server->label).append("#").append(std::to_string(i));
      ring->points.push_back({XXH3_64bits_withSeed(key.data(), key.size(), kRingSeed), server});
    }
  }
  // Ties (two labels on one 64-bit point) are broken by label, not by the
  // HostSet's order, so every instance agrees on the owner.
  std::sort(ring->points.begin(), ring->points.end(),
            [](const RingTable::Point& a, const RingTable::Point& b) {
              if (a.hash != b.hash) return a.hash < b.hash;
              return a.server->label < b.server->label;
            });
  return ring;
}

RingHash::RingHash(const upstream::StrategyEnv&) {}

void RingHash::rebuild(const upstream::HostSet& hosts) {
  ring_ = std::dynamic_pointer_cast<const RingTable>(hosts.table);
}

const upstream::Server* RingHash::pick(const upstream::PickContext& ctx) {
  if (!ring_ || ring_->points.empty()) return nullptr;
  const auto& points = ring_->points;
  auto it = std::lower_bound(
      points.begin(), points.end(), ctx.hash,
      [](const RingTable::Point& point, uint64_t hash) { return point.hash < hash; });
  size_t at = it == points.end() ? 0 : static_cast<size_t>(it - points.begin());
  const upstream::Server* owner = points[at].server;
  if (!ctx.tried.contains(owner->index)) return owner;

  // Retry: O(hosts) check first, so "all tried" does not walk the whole
  // ring; after it the walk is bound to meet an untried server.
  if (!anyUntried(ring_->hosts, ctx.tried)) return nullptr;
  for (size_t step = 1; step < points.size(); ++step) {
    if (++at == points.size()) at = 0;
    const upstream::Server* server = points[at].server;
    if (!ctx.tried.contains(server->index)) return server;
  }
  return nullptr;
}

}  // namespace fulcrum::balance
