// One worker's data-path counters: plain integers, written only by the
// worker's thread (no atomics, no locks, no allocation once a status code
// has been seen). The control loop never reads them in place: at scrape
// time each worker copies its WorkerMetrics on its own thread and posts the
// copy back (see collector.h), where copies are summed.
// FULCRUM_REQUEST_METRICS=0 compiles the per-request updates out (for the
// benchmark that prices them); the structure stays.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ledger/store_timings.h"
#include "tls/handshake_result.h"

#ifndef FULCRUM_REQUEST_METRICS
#define FULCRUM_REQUEST_METRICS 1
#endif

namespace fulcrum::metrics {

// Counts by HTTP status code: a short flat list (a server answers with a
// handful of codes), so adding is a scan of a few entries.
class CodeCounts {
 public:
  struct Entry {
    uint16_t code;
    uint64_t count;
  };
  void add(uint16_t code, uint64_t count = 1) {
    for (Entry& entry : entries_)
      if (entry.code == code) {
        entry.count += count;
        return;
      }
    entries_.push_back(Entry{code, count});
  }
  void merge(const CodeCounts& other) {
    for (const Entry& entry : other.entries_) add(entry.code, entry.count);
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Upstream response time buckets (seconds): from a fast in-datacenter API
// call to a card network timeout.
inline constexpr std::array<double, 12> kResponseBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   5,    10,  30};

struct Histogram {
  std::array<uint64_t, kResponseBuckets.size() + 1> counts{};  // last = +Inf
  double sum = 0;
  uint64_t count = 0;

  void observe(double seconds) {
    size_t bucket = 0;
    while (bucket < kResponseBuckets.size() && seconds > kResponseBuckets[bucket]) ++bucket;
    ++counts[bucket];
    sum += seconds;
    ++count;
  }
  void merge(const Histogram& other) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
    count += other.count;
  }
};

struct ServerCounters {
  CodeCounts responses;
  Histogram response_time;
  uint64_t connect_failures = 0;
  uint64_t connections_opened = 0;
  uint64_t active = 0;  // filled from the worker's LoadTable when copied

  void merge(const ServerCounters& other);
};

// fulcrum_retries_refused_total reasons, by index.
inline constexpr size_t kRefusedNonIdempotent = 0;
inline constexpr size_t kRefusedBudget = 1;
inline constexpr size_t kRefusedBodyTooLarge = 2;
// fulcrum_retries_total reasons, by http::AttemptFailure.
inline constexpr size_t kRetryReasons = 7;

struct UpstreamCounters {
  std::vector<ServerCounters> servers;
  std::array<uint64_t, kRetryReasons> retries{};
  std::array<uint64_t, 3> retries_refused{};
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t picks_without_key =
      0;  // carried over reloads; the picker's own count is added when copied

  // Everything but `servers` (whose indexes are the caller's to match).
  void mergeTotals(const UpstreamCounters& other);
};

// fulcrum_proxy_protocol_rejected_total reasons, by net::ProxyRejection.
inline constexpr size_t kProxyRejectionReasons = 4;

// fulcrum_idempotency_requests_total results, by index: first, replayed,
// conflict, mismatch, missing_key, store_error, unknown_held.
inline constexpr size_t kIdempotencyResults = 7;

struct ListenerCounters {
  uint64_t connections_total = 0;  // TLS: counted once the handshake is done
  uint64_t connections_active = 0;
  std::array<uint64_t, kProxyRejectionReasons> proxy_rejected{};
  // TLS listeners: every handshake, by how it ended (tls::HandshakeResult).
  std::array<uint64_t, tls::kHandshakeResults> handshakes{};
  // Keyed requests on routes with an idempotency ledger, by result.
  std::array<uint64_t, kIdempotencyResults> idempotency{};
  // By upstream index + 1; 0 = no upstream (no route).
  std::vector<CodeCounts> requests;

  // Everything but `requests` (whose indexes are the caller's to match).
  void mergeTotals(const ListenerCounters& other);
};

struct WorkerMetrics {
  std::vector<ListenerCounters> listeners;
  std::vector<UpstreamCounters> upstreams;
  ledger::StoreTimings ledger_store;  // fulcrum_idempotency_store_seconds

  // Sums `other` (same Runtime shape) into this.
  void merge(const WorkerMetrics& other);
};

}  // namespace fulcrum::metrics
