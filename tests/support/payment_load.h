// A bounded, mixed payment load for failover tests, and the tally a ledger
// needs of it. PaymentLoad sends `requests` requests from `concurrency`
// client threads, each request on a fresh client connection, with its own
// path, request id, key and body: a seeded mix of GETs, POSTs with an
// Idempotency-Key and POSTs without. tallyLoad() then sets what the
// clients got beside what the RecordingBackends received: no safe request
// failed, no unkeyed POST was received twice, an unkeyed POST that failed
// said its outcome was unknown, and nothing was received that was not sent
// as sent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"
#include "support/recording_backend.h"

namespace fulcrum::test {

enum class Column { Get, KeyedPost, UnkeyedPost };
const char* columnName(Column column);

struct LoadRequest {
  using Clock = std::chrono::steady_clock;

  int index = 0;
  Column column = Column::Get;
  std::string method, path, request_id, key, body;  // key empty: no Idempotency-Key

  // What came back; status 0: no response at all by the client's deadline.
  int status = 0;
  std::string backend;          // X-Backend
  std::string outcome;          // X-Fulcrum-Outcome
  std::string retry_after;      // Retry-After
  std::optional<int> attempts;  // X-Fulcrum-Attempts
  Clock::time_point started, finished;
};

struct LoadSpec {
  std::string name = "load";  // in every path, request id and key: tells runs apart
  int requests = 600;
  int concurrency = 10;
  uint64_t seed = 1;  // the mix and the bodies; the same seed sends the same load
  // Request i is not sent before start + i * spacing: an arrival rate that
  // keeps the load going across a fault schedule. 0: each client sends its
  // next request as soon as it has its answer.
  std::chrono::microseconds spacing{0};
  std::chrono::milliseconds response_deadline{15000};  // a client's wait for its answer
  std::chrono::milliseconds run_deadline{90000};       // no request starts after this
};

// Starts sending at once; the destructor waits for the clients (each wait
// is bounded by response_deadline).
class PaymentLoad {
 public:
  PaymentLoad(uint16_t port, LoadSpec spec);
  ~PaymentLoad();
  PaymentLoad(const PaymentLoad&) = delete;
  PaymentLoad& operator=(const PaymentLoad&) = delete;

  // Requests finished so far (answered, or given up on).
  int answered() const { return answered_.load(); }
  // Until at least `count` requests finished; false at the deadline.
  bool waitAnswered(int count, std::chrono::milliseconds deadline) const;
  // Waits for every client; the requests that were started, in index order.
  const std::vector<LoadRequest>& finish();

 private:
  void client();

  uint16_t port_;
  LoadSpec spec_;
  LoadRequest::Clock::time_point start_;
  std::vector<LoadRequest> requests_;  // slot i written by the client that took i
  std::atomic<int> next_{0};
  std::atomic<int> answered_{0};
  std::vector<std::thread> clients_;
  std::vector<LoadRequest> started_;
};

// The request `index` of a load named `name` with `seed`.
LoadRequest makeLoadRequest(const std::string& name, uint64_t seed, int index);
// Sends it on a fresh connection and fills in what came back.
void sendLoadRequest(uint16_t port, LoadRequest& request, std::chrono::milliseconds deadline);

struct Tally {
  int total = 0;
  std::map<int, int> by_status;  // status -> requests (0: no response)
  int ok = 0;
  int unknown502 = 0;          // 502 with X-Fulcrum-Outcome: unknown
  int unknown502_unkeyed = 0;  // of those, unkeyed POSTs
  int no_response = 0;
  // A GET or keyed POST that had to succeed (a server was alive) and did not.
  int safe_failures = 0;
  // An unkeyed POST that did not get 200 and was not answered as it must
  // be: 502 outcome unknown, or 503 when it reached no server and none was
  // alive.
  int unkeyed_bad = 0;
  int unkeyed_duplicates = 0;  // an unkeyed POST received more than once
  int no_retry_after = 0;      // a 503 without "Retry-After: 1"
  int missing_attempts = 0;    // an answer without X-Fulcrum-Attempts
  long retries_seen = 0;       // over answers, the sum of (attempts - 1)
  // Received with another method, body or key than sent, or answered 200
  // by a backend that did not record it.
  int mismatched = 0;
  int strays = 0;        // received, and never sent by this load
  size_t receipts = 0;   // requests received, over all backends
  std::string examples;  // the first failures, each with the proxy's log lines about it
};

// `alive(request)`: whether some server could answer while the request was
// in flight (false lets it fail the way it must when none could); null:
// always. `log`: the proxy whose log lines about a failed request go into
// `examples`, or null.
Tally tallyLoad(const std::vector<LoadRequest>& sent,
                const std::vector<const RecordingBackend*>& backends, ChildProcess* log = nullptr,
                const std::function<bool(const LoadRequest&)>& alive = nullptr);

// CHECKs (doctest) what must hold of every load, whatever failed: all
// `requests` were sent (none cut short by the run deadline) and each got an
// answer, no safe request that had to succeed failed, no
// unkeyed POST was received twice or failed without outcome unknown, every
// 503 said Retry-After, every answer said its attempts, and the backends
// received only what was sent, as sent.
void checkMoneySafe(const Tally& tally, int requests);

}  // namespace fulcrum::test
