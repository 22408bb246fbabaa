#include "discovery/discovery.h"

#include <algorithm>
#include <set>

#include "core/log.h"

namespace fulcrum::discovery {
namespace {

using std::chrono::milliseconds;

// A TTL of 0 (dnsmasq's default for its hosts files) must not turn into
// a lookup per loop turn.
constexpr std::chrono::seconds kMinTtl{1};
// After the owner could not apply new answers (a certificate file gone
// for the new generation, say): tried again without waiting for a change.
constexpr std::chrono::seconds kApplyRetry{5};

// Where an upstream's DNS entry is filed: the same entry in two upstreams
// is looked up for each.
std::string entryKey(const std::string& upstream, const config::DiscoveryConfig& written) {
  return upstream + " " + written.key();
}

std::string describe(const std::vector<SocketAddress>& addresses) {
  std::string text;
  for (const auto& address : addresses) text += (text.empty() ? "" : ", ") + address.toString();
  return text.empty() ? "no server" : text;
}

// What an SRV answer's targets resolved to, gathered as they come back.
struct SrvGather {
  size_t waiting = 0;
  bool failed = false;
  std::string error;
  std::chrono::seconds ttl{0};
  bool has_ttl = false;
  std::vector<SrvRecord> records;
  std::vector<std::vector<SocketAddress>> addresses;  // by record
};

}  // namespace

Discovery::Discovery(net::EventLoop& loop, std::function<bool()> changed)
    : loop_(loop), changed_(std::move(changed)), notify_(loop, [this] {
        if (!changed_()) notify_.arm(kApplyRetry);
      }) {}

Discovery::~Discovery() = default;

void Discovery::configure(const config::Config& config) {
  bool restart = !client_ || config.global.resolvers != resolvers_;
  if (restart) {
    resolvers_ = config.global.resolvers;
    client_.reset();  // its lookups end without answering
    bool any = false;
    for (const auto& upstream : config.upstreams) any = any || !upstream.discovery.empty();
    if (any) {
      client_ = std::make_unique<DnsClient>(loop_, resolvers_);
      if (!client_->ok())
        log::error("dns: cannot start the resolver: %s; servers from DNS keep their last answer",
                   client_->error().c_str());
    }
  }
  std::map<std::string, std::unique_ptr<Entry>> next;
  std::map<std::string, ResultCounts> counts;
  for (const auto& upstream : config.upstreams) {
    for (const auto& written : upstream.discovery) {
      const std::string key = entryKey(upstream.name, written);
      auto old = entries_.find(key);
      std::unique_ptr<Entry> entry;
      if (old != entries_.end()) {
        entry = std::move(old->second);
      } else {
        entry = std::make_unique<Entry>();
        entry->upstream = upstream.name;
        entry->serial = next_serial_++;
        Entry* raw = entry.get();
        entry->timer = std::make_unique<net::Timer>(loop_, [this, raw] { lookup(*raw); });
      }
      entry->config = written;
      if (restart) {
        entry->in_flight = false;
        entry->serial = next_serial_++;
      }
      if (!entry->in_flight && (restart || old == entries_.end()))
        entry->timer->arm(milliseconds(0));
      next[key] = std::move(entry);
      counts[upstream.name] =
          counts_.count(upstream.name) ? counts_[upstream.name] : ResultCounts{};
    }
  }
  entries_ = std::move(next);
  counts_ = std::move(counts);
}

void Discovery::substitute(config::Config& config) const {
  for (auto& upstream : config.upstreams) {
    std::erase_if(upstream.servers, [](const config::ServerConfig& s) { return s.discovery >= 0; });
    std::set<std::string> taken;
    for (const auto& server : upstream.servers) taken.insert(server.address.toString());
    for (size_t i = 0; i < upstream.discovery.size(); ++i) {
      const config::DiscoveryConfig& written = upstream.discovery[i];
      auto it = entries_.find(entryKey(upstream.name, written));
      if (it == entries_.end()) continue;
      for (const Found& found : it->second->found) {
        config::ServerConfig server;
        server.address = found.address;
        server.address_text = found.address.toString();
        if (!taken.insert(server.address_text).second) continue;
        const bool srv = written.kind == config::DiscoveryConfig::Kind::Srv;
        server.weight = srv ? found.weight : written.weight;
        server.backup = srv ? found.backup : written.backup;
        server.mark = written.mark;
        server.dns_name = written.name;
        server.discovery = static_cast<int>(i);
        upstream.servers.push_back(std::move(server));
      }
    }
  }
}

Discovery::Entry* Discovery::find(const std::string& key, uint64_t serial) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second->serial != serial) return nullptr;
  return it->second.get();
}

void Discovery::lookup(Entry& entry) {
  if (entry.in_flight) return;
  if (!client_ || !client_->ok()) {
    finish(entryKey(entry.upstream, entry.config), entry.serial, LookupResult::Failure,
           client_ ? client_->error() : "no resolver", {}, std::chrono::seconds(0));
    return;
  }
  entry.in_flight = true;
  if (entry.config.kind == config::DiscoveryConfig::Kind::Srv) {
    lookupSrv(entry);
    return;
  }
  const std::string key = entryKey(entry.upstream, entry.config);
  const uint64_t serial = entry.serial;
  const uint16_t port = entry.config.port;
  client_->lookupAddresses(
      entry.config.name, [this, key, serial, port](const AddressAnswer& answer) {
        std::vector<Found> found;
        for (SocketAddress address : answer.addresses) {
          address.setPort(port);
          found.push_back(Found{address, 1, false});
        }
        finish(key, serial, answer.result, answer.error, std::move(found), answer.ttl);
      });
}

void Discovery::lookupSrv(Entry& entry) {
  const std::string key = entryKey(entry.upstream, entry.config);
  const uint64_t serial = entry.serial;
  client_->lookupSrv(entry.config.name, [this, key, serial](SrvAnswer answer) {
    if (find(key, serial) == nullptr) return;
    if (answer.result != LookupResult::Success) {
      finish(key, serial, answer.result, answer.error, {}, std::chrono::seconds(0));
      return;
    }
    auto gather = std::make_shared<SrvGather>();
    gather->records = std::move(answer.records);
    gather->addresses.resize(gather->records.size());
    gather->waiting = gather->records.size();
    auto done = [this, key, serial, gather] {
      if (gather->failed) {
        finish(key, serial, LookupResult::Failure, gather->error, {}, std::chrono::seconds(0));
        return;
      }
      // The lowest priority value is the primaries; the others wait as
      // backups. SRV weights (0-65535) become server weights (1-256).
      uint16_t best = UINT16_MAX;
      for (const auto& record : gather->records) best = std::min(best, record.priority);
      std::vector<Found> found;
      for (size_t r = 0; r < gather->records.size(); ++r) {
        const SrvRecord& record = gather->records[r];
        const unsigned weight = std::clamp<unsigned>(record.weight, 1, 256);
        for (SocketAddress address : gather->addresses[r]) {
          address.setPort(record.port);
          found.push_back(Found{address, weight, record.priority != best});
        }
      }
      const bool none = found.empty();  // read before `found` moves into the call
      finish(key, serial, none ? LookupResult::NotFound : LookupResult::Success,
             none ? "no target resolves" : "", std::move(found), gather->ttl);
    };
    // Each record's target is looked up, one answer per record.
    for (size_t r = 0; r < gather->records.size(); ++r) {
      client_->lookupAddresses(gather->records[r].target, [gather, r, done](AddressAnswer a) {
        if (a.result == LookupResult::Failure) {
          gather->failed = true;
          gather->error = gather->records[r].target + ": " + a.error;
        }
        gather->addresses[r] = std::move(a.addresses);
        if (a.result == LookupResult::Success) {
          gather->ttl = gather->has_ttl ? std::min(gather->ttl, a.ttl) : a.ttl;
          gather->has_ttl = true;
        }
        if (--gather->waiting == 0) done();
      });
    }
  });
}

void Discovery::finish(const std::string& key, uint64_t serial, LookupResult result,
                       const std::string& error, std::vector<Found> found,
                       std::chrono::seconds ttl) {
  Entry* entry = find(key, serial);
  if (entry == nullptr) return;  // stopped by a reload, or the resolver was replaced
  entry->in_flight = false;
  ++counts_[entry->upstream][static_cast<size_t>(result)];
  const std::string& name = entry->config.name;
  auto next = std::chrono::duration_cast<milliseconds>(entry->config.interval);
  if (result != LookupResult::Success) {
    if (!entry->failing)
      log::warn("dns: upstream %s: %s: %s (%s); keeping the %zu server(s) of the last answer",
                entry->upstream.c_str(), name.c_str(), lookupResultName(result), error.c_str(),
                entry->found.size());
    entry->failing = true;
    entry->timer->arm(next);
    return;
  }
  if (entry->failing)
    log::info("dns: upstream %s: %s answers again", entry->upstream.c_str(), name.c_str());
  entry->failing = false;
  next = std::min(next, std::chrono::duration_cast<milliseconds>(std::max(ttl, kMinTtl)));
  entry->timer->arm(next);
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.address.toString() < b.address.toString();
  });
  if (entry->answered && found == entry->found) return;
  std::vector<SocketAddress> addresses;
  addresses.reserve(found.size());
  for (const auto& f : found) addresses.push_back(f.address);
  log::info("dns: upstream %s: %s -> %s", entry->upstream.c_str(), name.c_str(),
            describe(addresses).c_str());
  entry->answered = true;
  entry->found = std::move(found);
  if (!notify_.armed()) notify_.arm(milliseconds(0));
}

}  // namespace fulcrum::discovery
