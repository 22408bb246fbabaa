// One request's attempts at its upstream: the bytes kept for a replay (head
// and body, up to retry_buffer), the record of every attempt for the access
// log, and the retry decision with its budget and metrics. The Exchange
// owns it and asks it after every failed attempt (retry_policy.h has the
// rule). One worker's thread; the budget and counters are that worker's.
#pragma once

#include <event2/buffer.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/schema.h"
#include "core/random.h"
#include "http/retry_budget.h"
#include "http/retry_policy.h"
#include "metrics/worker_metrics.h"
#include "net/buffer.h"
#include "upstream/server.h"

namespace fulcrum::http {

struct AttemptRecord {
  const upstream::Server* server = nullptr;
  AttemptPhase phase = AttemptPhase::NotSent;
  std::string outcome;  // "connect refused", "reset", "timeout", "503", "200", ...
  // Where the attempt spent its time (unset: it never got there).
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point connected;  // or took a pooled connection
  std::chrono::steady_clock::time_point ended;      // failed, or its response head came
};

class RetryTracker {
 public:
  // `budget`, `metrics` and `random` may be null (tests); they outlive it.
  RetryTracker(const config::RetryConfig& config, const RetryRequest& request, RetryBudget* budget,
               metrics::UpstreamCounters* metrics, Random* random);
  RetryTracker(const RetryTracker&) = delete;
  RetryTracker& operator=(const RetryTracker&) = delete;

  // Copies `bytes` (about to leave for a server) while the total fits in
  // retry_buffer; past it, nothing more is kept and the request is no
  // longer replayable. A request that could never be sent twice keeps
  // nothing from the start.
  void keep(evbuffer* bytes);
  bool replayable() const { return replayable_; }
  // Appends everything kept (what the first attempt had sent) to `out`.
  void replayInto(evbuffer* out) const;

  void attemptStarted(const upstream::Server* server);
  void attemptConnected();
  // Records how the current attempt ended (for the access log).
  void attemptEnded(AttemptPhase phase, std::string outcome);
  // May the failed attempt be tried again? Counts the retry or the refusal.
  RetryDecision decide(AttemptPhase phase, AttemptFailure failure);
  // How long to wait before the retry just granted (backoff, full jitter);
  // 0 after a connect failure: nothing was sent and another server is next.
  std::chrono::milliseconds backoff(AttemptFailure failure);

  unsigned attempts() const { return static_cast<unsigned>(log_.size()); }
  const std::vector<AttemptRecord>& log() const { return log_; }
  // The log, moved out when the exchange ends (attempts() is 0 after).
  std::vector<AttemptRecord> takeLog() { return std::move(log_); }
  // A log taken before, whose buffer a later tracker's log may use
  // (core/spares.h); this one's own log goes too, if it still has it.
  void giveBackLog(std::vector<AttemptRecord>&& taken);
  // Whether this request may be sent again at all once it has been sent.
  bool safeToRepeat() const { return http::safeToRepeat(rules_, request_); }
  std::chrono::milliseconds reuseSafeWindow() const { return config_.reuse_safe_window; }

 private:
  const config::RetryConfig& config_;
  RetryRules rules_;
  RetryRequest request_;
  RetryBudget* budget_;
  metrics::UpstreamCounters* metrics_;
  Random* random_;
  net::RecycledBuffer kept_;  // made at the first keep()
  bool replayable_ = true;
  unsigned retries_ = 0;
  unsigned attempts_used_ = 0;  // failed tries that used an attempt (usesAttempt)
  std::vector<AttemptRecord> log_;
};

}  // namespace fulcrum::http
