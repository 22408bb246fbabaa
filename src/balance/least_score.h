// What least_conn and least_time share: pick the untried server with the
// lowest Score, keeping the servers in a PositionHeap that follows the
// worker's LoadTable as it changes, so neither a pick nor a load change
// looks at every server.
//  - A pick reads the heap's root: O(1), plus O(log n) to stamp the winner.
//    When the root was tried (a retry), a best-first walk of the heap finds
//    the best untried server after visiting about twice as many nodes as
//    there are tried servers better than it, not all n.
//  - Every LoadTable::started / finished (and observeLatency, when the score
//    uses latency) re-scores that one server and moves it in the heap:
//    O(log n), nothing when the score did not change.
//  - Ties in Score go to the server picked least recently: round robin among
//    equals. Servers not picked yet count as older than any picked one, in
//    HostSet order from a random start per worker, so workers do not begin
//    in lockstep.
//
// Ownership: one instance per worker and HostSet role (primaries, backups),
// on the worker's thread. It registers itself with env.load in its
// constructor and unregisters in its destructor, so env.load must outlive it
// (UpstreamPicker declares its LoadTable before its strategies).
//
// Derived (CRTP, so scoring is a direct call) provides
//   Score scoreOf(uint32_t position, uint32_t server_index) const
//       // hosts().hosts[position], whose Server::index is given; lower wins
//   static constexpr bool kScoresLatency     // re-score on observeLatency()?
// and may provide `void prepare()`, called by rebuild() once hosts() holds
// the new set and before anything is scored (for per-set caches).
// Score needs operator< (a strict weak order); it must depend only on the
// server's effective weight and the LoadTable, never on the time of a pick.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <utility>
#include <vector>

#include "balance/position_heap.h"
#include "upstream/strategy.h"

namespace fulcrum::balance {

template <class Derived, class Score>
class LeastScore : public upstream::Strategy, private upstream::LoadObserver {
 public:
  LeastScore(const LeastScore&) = delete;
  LeastScore& operator=(const LeastScore&) = delete;

  void rebuild(const upstream::HostSet& hosts) final {
    assert(hosts.weights.size() == hosts.hosts.size() && "fill HostSets with add()");
    assert(std::find(hosts.weights.begin(), hosts.weights.end(), 0u) == hosts.weights.end());
    hosts_ = hosts;
    const auto count = static_cast<uint32_t>(hosts_.hosts.size());
    uint32_t max_index = 0;
    for (const upstream::Server* server : hosts_.hosts)
      max_index = std::max(max_index, server->index);
    position_of_.assign(count == 0 ? 0 : size_t{max_index} + 1, kNone);
    for (uint32_t p = 0; p < count; ++p) position_of_[hosts_.hosts[p]->index] = p;

    static_cast<Derived*>(this)->prepare();
    const uint32_t start = count == 0 ? 0 : static_cast<uint32_t>(env_.random->below(count));
    std::vector<Key> keys(count);
    for (uint32_t p = 0; p < count; ++p)
      keys[p] = Key{score(p, hosts_.hosts[p]->index), (p + count - start) % count};
    next_stamp_ = count;
    heap_.assign(std::move(keys));
  }

  const upstream::Server* pick(const upstream::PickContext& ctx) final {
    if (heap_.empty()) return nullptr;
    uint32_t position = heap_.top();
    if (ctx.tried.contains(hosts_.hosts[position]->index)) {
      position = heap_.bestUnskipped(
          [&](uint32_t p) { return ctx.tried.contains(hosts_.hosts[p]->index); });
      if (position == kNone) return nullptr;
    }
    heap_.update(position, Key{heap_.key(position).score, next_stamp_++});
    return hosts_.hosts[position];
  }

 protected:
  explicit LeastScore(const upstream::StrategyEnv& env) : env_(env) {
    env_.load->addObserver(this);
  }
  ~LeastScore() override { env_.load->removeObserver(this); }

  void prepare() {}

  const upstream::HostSet& hosts() const { return hosts_; }
  const upstream::LoadTable& load() const { return *env_.load; }

 private:
  static constexpr uint32_t kNone = PositionHeap<int>::kNone;

  // Score first; the pick stamp (unique) makes the order total.
  struct Key {
    Score score{};
    uint64_t stamp = 0;
    bool operator<(const Key& other) const {
      if (score < other.score) return true;
      if (other.score < score) return false;
      return stamp < other.stamp;
    }
  };

  Score score(uint32_t position, uint32_t server_index) const {
    return static_cast<const Derived*>(this)->scoreOf(position, server_index);
  }

  void loadChanged(uint32_t server_index, upstream::LoadChange change) final {
    if (change == upstream::LoadChange::Latency && !Derived::kScoresLatency) return;
    // The table covers the whole upstream; this set may hold only some of it.
    if (server_index >= position_of_.size()) return;
    const uint32_t position = position_of_[server_index];
    if (position == kNone) return;
    const Key& old = heap_.key(position);
    const Score now = score(position, server_index);
    if (!(now < old.score) && !(old.score < now)) return;
    heap_.update(position, Key{now, old.stamp});
  }

  upstream::StrategyEnv env_;
  upstream::HostSet hosts_;
  std::vector<uint32_t> position_of_;  // Server::index -> position in hosts_, or kNone
  PositionHeap<Key> heap_;
  uint64_t next_stamp_ = 0;  // above every stamp given so far
};

}  // namespace fulcrum::balance
