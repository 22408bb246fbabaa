// The idempotency ledger in Redis (idempotency_store: type: redis), shared
// by every fulcrum instance that points at the same server: one hiredis
// connection per worker, driven by the worker's own libevent loop
// (hiredis/adapters/libevent.h), so no call ever blocks a loop.
//
// A claim is one round trip: a script that does SET NX PX (the claim,
// expiring after in_flight_timeout) or else returns the entry that holds
// the key. Settling and releasing are one round trip each, and act only
// while the key still holds this claim (its token); so is an inspection
// (GET, and DEL with `release`). A claim or inspection with no answer
// within `timeout` (one asked while a connection is being made waits for
// it, within the same timeout), or asked while there is no connection,
// fails with a store error (on_store_error decides). A lost connection is made
// again with backoff (100 ms doubling to 5 s); settles and releases sent
// while it is down are lost, and their claims expire on their own.
//
// Made, used and closed on its loop's thread; close() before the loop
// goes (the destructor closes too, if the loop is still there).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/store.h"
#include "net/event_loop.h"
#include "net/timer.h"

struct redisAsyncContext;
struct redisReply;

namespace fulcrum::ledger {

struct RedisSettings {
  std::string host;  // a numeric address (no name lookup on a loop)
  uint16_t port = 6379;
  std::string unix_path;  // set: connect to this socket instead
  std::string password;   // empty: no AUTH
  std::chrono::milliseconds timeout{50};
};

class RedisStore final : public Store {
 public:
  RedisStore(net::EventLoop& loop, RedisSettings settings);
  ~RedisStore() override;

  void claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
             std::chrono::milliseconds in_flight_timeout, ClaimDone done) override;
  void settle(const std::string& key, Settlement settlement, std::chrono::milliseconds ttl,
              StoreTimings* timings) override;
  void release(const std::string& key, uint64_t claim, StoreTimings* timings) override;
  void inspect(const std::string& key, bool release, InspectDone done) override;
  int64_t entries() const override { return -1; }

  void close();
  bool connected() const { return connected_; }

 private:
  // What a question's answer is given to: the reply, or null with why
  // there is none (timed out, connection lost).
  using Answered = std::function<void(const redisReply* reply, const std::string& error)>;
  struct Pending {
    Answered answered;
    std::unique_ptr<net::Timer> timer;
  };
  // A settle or release in flight whose time is wanted. `timings` belongs
  // to the worker generation that owns this store and closes it, so it is
  // there whenever a reply comes before closing_.
  struct TimedReply {
    StoreTimings* timings;
    StoreOperation operation;
    std::chrono::steady_clock::time_point start;
  };
  static void* timedReply(StoreTimings* timings, StoreOperation operation);
  static void onTimedReply(redisAsyncContext* context, void* reply, void* timed);

  void connect();
  void scheduleReconnect();
  void lost(const std::string& why);
  // Sends a command whose answer is awaited within settings_.timeout.
  void ask(const std::vector<std::string>& args, Answered answered);
  void finish(uint64_t id, const redisReply* reply, const std::string& error);
  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  static void onAskReply(redisAsyncContext* context, void* reply, void* id);
  static void onAuthReply(redisAsyncContext* context, void* reply, void*);

  net::EventLoop& loop_;
  RedisSettings settings_;
  redisAsyncContext* context_ = nullptr;
  bool connected_ = false;
  bool closing_ = false;
  std::chrono::milliseconds backoff_{100};
  net::Timer reconnect_timer_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
};

}  // namespace fulcrum::ledger
