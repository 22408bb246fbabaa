// The servers a strategy may pick from: an immutable snapshot, rebuilt by
// whoever owns health state whenever membership, weight or usability
// changes. Pointers stay valid for the life of the Runtime that owns the
// Servers, which outlives every HostSet built from it. Servers with weight
// 0 (drained) are never in a HostSet.
//
// Fill it with add() only: `weights` must stay parallel to `hosts`, and every
// strategy indexes one by the other's positions.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/server.h"

namespace fulcrum::upstream {

// The base of a strategy's shared table (ring, Maglev lookup, smooth WRR
// sequence), so a HostSet can carry any of them with its type known: each
// strategy takes its own back with a checked cast when it rebuilds (never
// per pick), and treats a table of another type as no table at all.
struct StrategyTable {
  virtual ~StrategyTable() = default;
};

struct HostSet {
  std::vector<const Server*> hosts;
  // weights[i] is the effective weight of hosts[i]: positive, meaningful only
  // relative to the others in this set. It differs from Server::weight while
  // the control loop ramps a recovering server up (slow start: the config's
  // weight times 1..10). Non-hash strategies weigh by it; hash tables keep
  // Server::weight so a ramp never moves keys.
  std::vector<uint32_t> weights;
  // A strategy's table for exactly these hosts (ring, Maglev lookup, smooth
  // WRR sequence), built once by the registry's TableBuilder and shared
  // read-only by every worker; null when the strategy has no builder or
  // whoever built the set did not call it.
  std::shared_ptr<const StrategyTable> table;

  void add(const Server* server, uint32_t weight) {
    hosts.push_back(server);
    weights.push_back(weight);
  }
};

// Everything a worker picks from for one upstream, published together.
struct HostSets {
  HostSet primaries;
  HostSet backups;
  // Servers out of rotation only because outlier detection ejected them
  // (their checks pass, nobody drained them). Asked after the usable
  // primaries and backups. A request
  // whose every try so far failed to connect may still try them: nothing
  // was sent, so it cannot load a sick server, and a server that came back
  // before its ejection ended serves at once instead of the client getting
  // a 503.
  std::vector<const Server*> standby;
};

}  // namespace fulcrum::upstream
