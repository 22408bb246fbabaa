// Servers from DNS (DESIGN.md section 13): watches every `dns:` and `srv:`
// entry of the running configuration on the control loop, looks each one
// up again at its interval (sooner when the records' TTL is shorter), and
// keeps the last good answer of each. A failed or empty answer keeps the
// last good one: a DNS outage never empties an upstream.
// It changes nothing by itself: when an answer differs from the last good
// one it calls `changed`, and the owner (app/process.h) builds a new
// generation whose servers substitute() fills in; servers whose address
// stays keep their health state as across a reload (config/server_identity.h).
// Control loop only. `changed` runs from the loop (never inside configure
// or substitute), and never after the Discovery is destroyed; it returns
// false when the owner could not apply the answers, and is called again
// a few seconds later then.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/schema.h"
#include "discovery/dns_client.h"
#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::discovery {

// Lookups of one upstream's entries, by LookupResult.
using ResultCounts = std::array<uint64_t, 3>;

class Discovery {
 public:
  Discovery(net::EventLoop& loop, std::function<bool()> changed);
  ~Discovery();

  // Watches the entries of `config` (at start and after each reload).
  // Entries that were watched already (same upstream, same name, kind and
  // port) keep their last answer and schedule; new ones are looked up now;
  // the others stop. New global.resolvers restart every lookup.
  void configure(const config::Config& config);
  // Replaces the servers from DNS of every upstream of `config` with the
  // last good answers (none before the first one): each address is a
  // server labelled "address:port". An address written in the file or
  // found by an earlier entry of the same upstream is not added twice.
  void substitute(config::Config& config) const;
  // By upstream name: the lookups of its entries, for /metrics.
  const std::map<std::string, ResultCounts>& counts() const { return counts_; }

 private:
  struct Found {
    SocketAddress address;  // with its port
    unsigned weight = 1;    // srv: from the record
    bool backup = false;    // srv: not of the lowest priority
    bool operator==(const Found& other) const {
      return address == other.address && weight == other.weight && backup == other.backup;
    }
  };
  struct Entry {
    std::string upstream;
    config::DiscoveryConfig config;
    uint64_t serial = 0;  // tells a live lookup's answer from a stopped entry's
    bool in_flight = false;
    bool answered = false;  // a good answer came once
    bool failing = false;   // the last lookup failed (logged once per change)
    std::vector<Found> found;
    std::unique_ptr<net::Timer> timer;
  };

  void lookup(Entry& entry);
  void lookupSrv(Entry& entry);
  // Called with the lookup's outcome; schedules the next one.
  void finish(const std::string& key, uint64_t serial, LookupResult result,
              const std::string& error, std::vector<Found> found, std::chrono::seconds ttl);
  Entry* find(const std::string& key, uint64_t serial);

  net::EventLoop& loop_;
  std::function<bool()> changed_;
  std::vector<SocketAddress> resolvers_;
  uint64_t next_serial_ = 1;
  // By entryKey(): upstream + " " + entry key.
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::map<std::string, ResultCounts> counts_;
  // Coalesces the changes of one loop turn into one call of changed_.
  net::Timer notify_;
  // Last: destroyed first, so no lookup answers into a destroyed entry.
  std::unique_ptr<DnsClient> client_;
};

}  // namespace fulcrum::discovery
