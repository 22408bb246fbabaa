// What the admin listener needs from the proxy: the seam between
// src/admin (HTTP, rendering) and the proxy's control loop (health state,
// metrics collection, drains). The proxy implements ProxyControl
// (app/proxy_admin.h); AdminServer calls it on the control loop only, never
// from another thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fulcrum::admin {

// One server of an upstream, as /status and /status.json show it.
struct ServerStatus {
  std::string name;     // its label: `name:` or the address as written
  std::string address;  // as written in the config ("127.0.0.1:9001")
  std::string dns;      // the DNS name it was found through; empty: written in the file
  unsigned weight = 1;
  bool backup = false;
  // "drained" if admin_drain, else "ejected" if ejected, else "down" if the
  // check says down, else "up".
  std::string state;
  bool usable = false;
  std::string check;  // "passed", the failure reason, "not checked yet" or "none"
  bool admin_drain = false, ejected = false;
  unsigned ramp_percent = 100;  // slow start: share of its weight in use
  uint64_t active_requests = 0;
  std::string last_transition;              // "up -> down: ..."; empty: none yet
  double last_transition_seconds_ago = -1;  // negative: no transition yet
};

// A certificate fulcrum presents (a TLS listener's, or an upstream's client
// certificate), from its file as last loaded (at start or by the last
// successful reload).
struct CertificateStatus {
  std::string file;
  std::string subject;             // the subject's CN, or the whole subject line
  std::vector<std::string> names;  // its DNS names (the CN when it has none)
  std::string not_after;           // UTC, ISO 8601: "2027-01-05T12:00:00Z"
  int64_t days_left = 0;           // whole days until not_after; negative once expired
  bool expires_soon = false;       // expired, or expires within the 14 days `fulcrum -t` warns of
};

struct UpstreamStatus {
  std::string name, balance;
  std::vector<ServerStatus> servers;
  size_t usable_servers = 0;
  bool panic = false;  // below panic_threshold: every primary takes requests
  // Its servers[] entries that are names ("dns:NAME:PORT", "srv:NAME").
  std::vector<std::string> dns;
  std::vector<CertificateStatus> certificates;  // the client certificate, when it presents one
};

struct ListenerStatus {
  std::string name, protocol, address;
  uint64_t active_connections = 0;
  std::vector<CertificateStatus> certificates;  // empty for a plain listener
};

// What one worker thread has applied of the control loop's changes.
struct WorkerStatus {
  uint64_t generation = 0;        // the configuration generation it runs
  uint64_t host_set_updates = 0;  // health publications (new host sets) applied
};

struct Status {
  std::string version;
  double uptime_seconds = 0;
  bool draining = false;
  // The running configuration generation: 1 at start, +1 per successful
  // reload. A worker behind it has not switched yet.
  uint64_t generation = 0;
  std::vector<WorkerStatus> workers;  // by worker index
  std::vector<ListenerStatus> listeners;
  std::vector<UpstreamStatus> upstreams;
};

enum class DrainResult { Ok, NoUpstream, NoServer };

// One key of the idempotency ledger, as the admin API shows it.
struct LedgerKey {
  enum class Result { NoLedger, StoreError, NotFound, Found } result = Result::NoLedger;
  std::string state;  // in_flight, done, not_kept, unknown
  std::string error;  // why the store did not answer (StoreError)
  int status = 0;     // the kept answer's status (done)
  bool released = false;
};

class ProxyControl {  // implemented by the proxy; called on the control loop only
 public:
  virtual ~ProxyControl() = default;
  // The Prometheus text; `done` may run later (the proxy asks its workers
  // first), on the control loop, exactly once. It may also run before
  // collectMetrics returns. The admin server copes with `done` running after
  // the client went away or after the server itself was destroyed.
  virtual void collectMetrics(std::function<void(std::string text)> done) = 0;
  // True once SIGTERM started the drain: /healthz answers 503.
  virtual bool draining() const = 0;
  // A snapshot for /status and /status.json.
  virtual Status status() = 0;
  // Sets or clears the admin drain of one server. `server` is its label
  // (name or address as written), already percent-decoded.
  virtual DrainResult setAdminDrain(const std::string& upstream, const std::string& server,
                                    bool drained) = 0;
  // The ledger's entry for `key` within `scope` (the scope field's value,
  // empty for none); with `release`, the entry is removed too, whatever
  // holds it, so the next request with the key goes to a server. `done`
  // runs on the control loop exactly once, maybe before ledgerKey returns,
  // maybe later (a networked store); the admin server copes with `done`
  // running after the client went away, as with collectMetrics.
  virtual void ledgerKey(const std::string& key, const std::string& scope, bool release,
                         std::function<void(LedgerKey)> done) {
    (void)key;
    (void)scope;
    (void)release;
    done(LedgerKey{});
  }
};

}  // namespace fulcrum::admin
