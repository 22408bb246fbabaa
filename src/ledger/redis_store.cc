#include "ledger/redis_store.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/log.h"
#include "core/rate_limited_log.h"
#include "ledger/entry_codec.h"

namespace fulcrum::ledger {
namespace {

// KEYS[1]: the key; ARGV[1]: the claim's entry; ARGV[2]: its expiry (ms).
// 1: claimed; otherwise the entry that holds the key.
constexpr const char* kClaimScript =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
    "local held = redis.call('GET', KEYS[1]) if held then return held end return 0";
// ARGV[1]: the claim's prefix; ARGV[2]: the settled entry; ARGV[3]: its ttl (ms).
constexpr const char* kSettleScript =
    "local held = redis.call('GET', KEYS[1]) "
    "if held and string.sub(held, 1, #ARGV[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
// ARGV[1]: the claim's prefix.
constexpr const char* kReleaseScript =
    "local held = redis.call('GET', KEYS[1]) "
    "if held and string.sub(held, 1, #ARGV[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

// KEYS[1]: the key; ARGV[1]: "1" to remove it too. The entry, or nil.
constexpr const char* kInspectScript =
    "local held = redis.call('GET', KEYS[1]) "
    "if held and ARGV[1] == '1' then redis.call('DEL', KEYS[1]) end return held";

constexpr std::chrono::milliseconds kMaxBackoff{5000};

// What the text of an in-flight entry with token `claim` starts with
// (entry_codec.h): "still my claim" is a prefix compare in the script.
std::string claimPrefix(uint64_t claim) {
  Entry entry;
  entry.claim = claim;
  std::string text = encodeEntry(entry);
  return text.substr(0, text.find(' ', text.find(' ', 4) + 1) + 1);
}

// Sends a command whose reply does not matter (`callback` may be null).
void send(redisAsyncContext* context, const std::vector<std::string>& args,
          redisCallbackFn* callback = nullptr, void* data = nullptr) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisAsyncCommandArgv(context, callback, data, static_cast<int>(args.size()), argv.data(),
                        lengths.data());
}

}  // namespace

RedisStore::RedisStore(net::EventLoop& loop, RedisSettings settings)
    : loop_(loop), settings_(std::move(settings)), reconnect_timer_(loop, [this] { connect(); }) {
  connect();
}

RedisStore::~RedisStore() {
  close();
}

void RedisStore::close() {
  if (closing_) return;
  closing_ = true;
  reconnect_timer_.cancel();
  pending_.clear();  // their requests are gone too, or going
  if (context_ != nullptr) {
    redisAsyncContext* context = context_;
    context_ = nullptr;
    redisAsyncFree(context);  // replies come back empty, and are ignored
  }
}

void RedisStore::connect() {
  if (closing_) return;
  redisAsyncContext* context = settings_.unix_path.empty()
                                   ? redisAsyncConnect(settings_.host.c_str(), settings_.port)
                                   : redisAsyncConnectUnix(settings_.unix_path.c_str());
  if (context == nullptr) std::abort();  // out of memory (STYLE.md)
  if (context->err != 0) {
    const std::string why = context->errstr;
    redisAsyncFree(context);
    lost(why);
    return;
  }
  context->data = this;
  redisLibeventAttach(context, loop_.base());
  redisAsyncSetConnectCallback(context, &RedisStore::onConnect);
  redisAsyncSetDisconnectCallback(context, &RedisStore::onDisconnect);
  context_ = context;
  // Queued until the connection is up: AUTH goes first.
  if (!settings_.password.empty())
    send(context_, {"AUTH", settings_.password}, &RedisStore::onAuthReply);
}

void RedisStore::onAuthReply(redisAsyncContext* context, void* reply_data, void*) {
  auto* self = static_cast<RedisStore*>(context->data);
  const auto* reply = static_cast<const redisReply*>(reply_data);
  if (self == nullptr || self->closing_ || reply == nullptr) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    // Every command will fail (NOAUTH), each a store error: the log says why.
    static log::Limited limited;
    limited.warn("idempotency store: redis refused the password (%.*s)",
                 static_cast<int>(reply->len), reply->str);
    return;
  }
  log::info("idempotency store: connected to redis");
}

void RedisStore::onConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisStore*>(context->data);
  if (self == nullptr || self->closing_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->context_ = nullptr;
    self->lost(context->errstr);
    return;
  }
  self->connected_ = true;
  self->backoff_ = std::chrono::milliseconds(100);
  // With a password, "connected" waits for Redis to take it (onAuthReply).
  if (self->settings_.password.empty()) log::info("idempotency store: connected to redis");
}

void RedisStore::onDisconnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisStore*>(context->data);
  if (self == nullptr || self->closing_) return;
  self->context_ = nullptr;  // hiredis frees it after this callback
  self->lost(status == REDIS_OK ? "closed" : context->errstr);
}

void RedisStore::lost(const std::string& why) {
  static log::Limited limited;
  if (connected_ || backoff_.count() == 100)
    limited.warn("idempotency store: redis unreachable (%s); retrying in %lldms", why.c_str(),
                 static_cast<long long>(backoff_.count()));
  connected_ = false;
  // Questions waiting on the lost connection fail now rather than at their timeout.
  std::vector<uint64_t> ids;
  for (const auto& [id, pending] : pending_) ids.push_back(id);
  for (uint64_t id : ids) finish(id, nullptr, why);
  scheduleReconnect();
}

void RedisStore::scheduleReconnect() {
  if (closing_ || reconnect_timer_.armed()) return;
  reconnect_timer_.arm(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void RedisStore::finish(uint64_t id, const redisReply* reply, const std::string& error) {
  auto found = pending_.find(id);
  if (found == pending_.end()) return;  // timed out already
  Answered answered = std::move(found->second.answered);
  pending_.erase(found);  // its timer may be the caller: Timer allows that
  answered(reply, error);
}

void RedisStore::ask(const std::vector<std::string>& args, Answered answered) {
  // While a connection is being made the question waits in hiredis's
  // queue, under the same timeout; with none at all it fails now.
  if (context_ == nullptr) {
    answered(nullptr, "redis is not connected");
    return;
  }
  const uint64_t id = next_id_++;
  Pending& pending = pending_[id];
  pending.answered = std::move(answered);
  pending.timer = std::make_unique<net::Timer>(loop_, [this, id] {
    finish(id, nullptr,
           "redis did not answer within " + std::to_string(settings_.timeout.count()) + "ms");
  });
  pending.timer->arm(settings_.timeout);
  send(context_, args, &RedisStore::onAskReply,
       reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
}

void RedisStore::onAskReply(redisAsyncContext* context, void* reply, void* id_data) {
  auto* self = static_cast<RedisStore*>(context->data);
  if (self == nullptr || self->closing_) return;
  const uint64_t id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(id_data));
  self->finish(id, static_cast<const redisReply*>(reply), "the connection to redis ended");
}

namespace {

// A reply that is neither the expected shape nor nil: why, for the log.
std::string unexpected(const redisReply* reply) {
  return reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                          : "an unreadable entry in redis";
}

}  // namespace

void RedisStore::claim(const std::string& key, const std::string& fingerprint, uint64_t claim,
                       std::chrono::milliseconds in_flight_timeout, ClaimDone done) {
  Entry entry;
  entry.fingerprint = fingerprint;
  entry.claim = claim;
  ask({"EVAL", kClaimScript, "1", key, encodeEntry(entry),
       std::to_string(in_flight_timeout.count())},
      [done = std::move(done)](const redisReply* reply, const std::string& error) {
        ClaimResult result;
        if (reply == nullptr) {
          result.error = error;
        } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
          result.status = ClaimStatus::Claimed;
        } else if (reply->type == REDIS_REPLY_STRING &&
                   decodeEntry(std::string_view(reply->str, reply->len), result.entry)) {
          result.status = ClaimStatus::Exists;
        } else {
          result.error = unexpected(reply);
        }
        done(std::move(result));
      });
}

void RedisStore::inspect(const std::string& key, bool release, InspectDone done) {
  ask({"EVAL", kInspectScript, "1", key, release ? "1" : "0"},
      [done = std::move(done), release](const redisReply* reply, const std::string& error) {
        Inspection inspection;
        if (reply == nullptr) {
          inspection.error = error;
        } else if (reply->type == REDIS_REPLY_NIL) {
          inspection.result = Inspection::Result::NotFound;
        } else if (reply->type == REDIS_REPLY_STRING &&
                   decodeEntry(std::string_view(reply->str, reply->len), inspection.entry)) {
          inspection.result = Inspection::Result::Found;
          inspection.released = release;
        } else {
          inspection.error = unexpected(reply);
        }
        done(std::move(inspection));
      });
}

void RedisStore::settle(const std::string& key, Settlement settlement,
                        std::chrono::milliseconds ttl, StoreTimings* timings) {
  if (context_ == nullptr) return;  // the claim expires on its own
  send(context_,
       {"EVAL", kSettleScript, "1", key, claimPrefix(settlement.claim), settlement.bytes,
        std::to_string(ttl.count())},
       &RedisStore::onTimedReply, timedReply(timings, StoreOperation::Settle));
}

void RedisStore::release(const std::string& key, uint64_t claim, StoreTimings* timings) {
  if (context_ == nullptr) return;
  send(context_, {"EVAL", kReleaseScript, "1", key, claimPrefix(claim)}, &RedisStore::onTimedReply,
       timedReply(timings, StoreOperation::Release));
}

void* RedisStore::timedReply(StoreTimings* timings, StoreOperation operation) {
  if (timings == nullptr) return nullptr;
  return new TimedReply{timings, operation, std::chrono::steady_clock::now()};
}

void RedisStore::onTimedReply(redisAsyncContext* context, void* reply, void* timed_data) {
  // hiredis calls every callback once, with a null reply when the
  // connection ends or is freed: the record is freed here in every case.
  std::unique_ptr<TimedReply> timed(static_cast<TimedReply*>(timed_data));
  auto* self = static_cast<RedisStore*>(context->data);
  if (timed == nullptr || reply == nullptr || self == nullptr || self->closing_) return;
  timed->timings->observe(timed->operation, std::chrono::steady_clock::now() - timed->start);
}

}  // namespace fulcrum::ledger
