#include "balance/maglev.h"

#include <xxhash.h>

#include <algorithm>
#include <string>

namespace fulcrum::balance {

namespace {

// Two fixed, different seeds: offset and skip must be independent, and the
// same on every process.
constexpr XXH64_hash_t kOffsetSeed = 0x6d61676c65764f66ULL;
constexpr XXH64_hash_t kSkipSeed = 0x6d61676c6576536bULL;

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// A permutation walk (slot += skip) visits every slot only when M is prime
// (skip < M); with any other M a server could run out of free slots and the
// fill would never end.
uint64_t primeAtLeast(uint64_t n) {
  while (!isPrime(n)) ++n;
  return n;
}

bool anyUntried(const std::vector<const upstream::Server*>& hosts,
                const upstream::TriedSet& tried) {
  for (const upstream::Server* server : hosts)
    if (!tried.contains(server->index)) return true;
  return false;
}

struct Entry {
  const upstream::Server* server;
  uint64_t slot;    // the next slot of this server's permutation
  uint64_t skip;    // in [1, M - 1]
  uint64_t target;  // k * max_weight after k claims
};

}  // namespace

std::shared_ptr<const upstream::StrategyTable> buildMaglevTable(
    const upstream::HostSet& hosts, const upstream::StrategyOptions& options) {
  auto table = std::make_shared<MaglevTable>();
  table->hosts = hosts.hosts;
  if (hosts.hosts.empty()) return table;

  const uint64_t size = primeAtLeast(std::max<uint64_t>(options.maglev_table_size, 2));
  // Sorted by label so the table does not depend on the HostSet's order.
  std::vector<const upstream::Server*> sorted = hosts.hosts;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const upstream::Server* a, const upstream::Server* b) { return a->label < b->label; });

  std::vector<Entry> entries;
  entries.reserve(sorted.size());
  uint64_t max_weight = 0;
  for (const upstream::Server* server : sorted) {
    const std::string& label = server->label;
    const uint64_t offset = XXH3_64bits_withSeed(label.data(), label.size(), kOffsetSeed) % size;
    const uint64_t skip =
        XXH3_64bits_withSeed(label.data(), label.size(), kSkipSeed) % (size - 1) + 1;
    entries.push_back({server, offset, skip, 0});
    max_weight = std::max<uint64_t>(max_weight, server->weight);
  }

  table->slots.assign(size, nullptr);
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < size; ++round) {
    for (Entry& entry : entries) {
      if (filled == size) break;
      // A server of the largest weight claims a slot every round; one of
      // half that weight every other round, and so on.
      if (round * entry.server->weight < entry.target) continue;
      entry.target += max_weight;
      while (table->slots[entry.slot] != nullptr) entry.slot = (entry.slot + entry.skip) % size;
      table->slots[entry.slot] = entry.server;
      entry.slot = (entry.slot + entry.skip) % size;
      ++filled;
    }
  }
  return table;
}

Maglev::Maglev(const upstream::StrategyEnv&) {}

void Maglev::rebuild(const upstream::HostSet& hosts) {
  table_ = std::dynamic_pointer_cast<const MaglevTable>(hosts.table);
}

const upstream::Server* Maglev::pick(const upstream::PickContext& ctx) {
  if (!table_ || table_->slots.empty()) return nullptr;
  const auto& slots = table_->slots;
  size_t at = static_cast<size_t>(ctx.hash % slots.size());
  const upstream::Server* owner = slots[at];
  if (!ctx.tried.contains(owner->index)) return owner;

  // Retry: O(hosts) check first, so "all tried" does not walk the whole
  // table; after it the walk meets an untried server within a few slots
  // (every server holds about M / N of them, spread evenly).
  if (!anyUntried(table_->hosts, ctx.tried)) return nullptr;
  for (size_t step = 1; step < slots.size(); ++step) {
    if (++at == slots.size()) at = 0;
    const upstream::Server* server = slots[at];
    if (!ctx.tried.contains(server->index)) return server;
  }
  return nullptr;
}

}  // namespace fulcrum::balance
