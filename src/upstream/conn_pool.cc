#include "upstream/conn_pool.h"

#include "net/turn_clock.h"

namespace fulcrum::upstream {

ConnPool::ConnPool(net::EventLoop& loop, size_t server_count, unsigned max_idle,
                   std::chrono::milliseconds idle_timeout, upstream::CircuitBreaker* breaker)
    : loop_(loop),
      max_idle_(max_idle),
      idle_timeout_(idle_timeout),
      idle_(server_count),
      sweep_timer_(loop, [this] { sweep(); }),
      breaker_(breaker) {}

ConnPool::~ConnPool() {
  countClosed(idle_total_);
}

void ConnPool::countClosed(size_t connections) {
  if (breaker_ == nullptr) return;
  for (size_t i = 0; i < connections; ++i)
    breaker_->release(upstream::BreakerResource::Connections);
}

std::vector<ConnPool::Idle>::iterator ConnPool::find(uint32_t index, std::string_view key) {
  auto& list = idle_[index];
  for (size_t at = list.size(); at-- > 0;)
    if (list[at].key == key) return list.begin() + static_cast<ptrdiff_t>(at);
  return list.end();
}

std::unique_ptr<net::Stream> ConnPool::takeAt(uint32_t index, std::vector<Idle>::iterator at) {
  std::unique_ptr<net::Stream> stream = std::move(at->stream);
  idle_[index].erase(at);
  --idle_total_;
  // Still reading: a close or stray bytes would have been seen as an event
  // already. The caller installs its handler before the loop runs.
  stream->setHandler(nullptr);
  return stream;
}

std::unique_ptr<net::Stream> ConnPool::take(uint32_t index, std::string_view key) {
  auto found = find(index, key);
  return found == idle_[index].end() ? nullptr : takeAt(index, found);
}

std::unique_ptr<net::Stream> ConnPool::take(uint32_t index, std::chrono::milliseconds max_age,
                                            std::string_view key) {
  // Most recent first: if the first with this key is too old, all are.
  auto found = find(index, key);
  if (found == idle_[index].end() || net::TurnClock::now() - found->since >= max_age)
    return nullptr;
  return takeAt(index, found);
}

void ConnPool::adopt(ConnPool& from, uint32_t from_index, uint32_t to_index) {
  std::vector<Idle> source = std::move(from.idle_[from_index]);
  from.idle_[from_index].clear();
  from.idle_total_ -= source.size();
  auto& list = idle_[to_index];
  // Past max_idle the oldest go: the newest are the likeliest still open.
  const size_t room = list.size() < max_idle_ ? max_idle_ - list.size() : 0;
  const size_t surplus = source.size() > room ? source.size() - room : 0;
  for (size_t i = 0; i < source.size(); ++i) {  // oldest first: the newest ends up at the back
    Idle& idle = source[i];
    if (i < surplus) {
      closeIdle(idle.stream);
      continue;
    }
    idle.stream->setHandler(this);
    list.push_back(std::move(idle));
    if (++idle_total_ == 1) sweep_timer_.arm(idle_timeout_);
  }
}

void ConnPool::give(uint32_t index, std::unique_ptr<net::Stream> connection, std::string_view key) {
  auto& list = idle_[index];
  // The oldest keyed connection's client is the likeliest to have left.
  if (!key.empty() && max_idle_ > 0 && list.size() >= max_idle_) {
    closeIdle(list.front().stream);
    list.erase(list.begin());
    --idle_total_;
  }
  if (list.size() >= max_idle_) {
    closeIdle(connection);  // may be inside its own callback
    return;
  }
  connection->setHandler(this);
  connection->setReading(true);
  list.push_back(Idle{std::move(connection), net::TurnClock::now(), std::string(key)});
  if (++idle_total_ == 1) sweep_timer_.arm(idle_timeout_);
}

void ConnPool::closeKeyed(std::string_view key) {
  for (auto& list : idle_) {
    for (auto it = list.begin(); it != list.end();) {
      if (it->key != key) {
        ++it;
        continue;
      }
      closeIdle(it->stream);
      it = list.erase(it);
      --idle_total_;
    }
  }
}

void ConnPool::closeIdle(std::unique_ptr<net::Stream>& stream) {
  stream->setHandler(nullptr);
  stream->setReading(false);
  loop_.deferDelete(std::move(stream));
  countClosed(1);
}

void ConnPool::drop(net::Stream& stream) {
  for (auto& list : idle_) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->stream.get() != &stream) continue;
      closeIdle(it->stream);  // we are inside its callback
      list.erase(it);
      --idle_total_;
      return;
    }
  }
}

void ConnPool::sweep() {
  auto now = net::TurnClock::now();
  auto oldest_kept = now;
  for (auto& list : idle_) {
    // Oldest first: the expired ones lead.
    size_t expired = 0;
    while (expired < list.size() && now - list[expired].since >= idle_timeout_) ++expired;
    if (expired > 0) {
      list.erase(list.begin(), list.begin() + static_cast<ptrdiff_t>(expired));
      idle_total_ -= expired;
      countClosed(expired);
    }
    if (!list.empty()) oldest_kept = std::min(oldest_kept, list.front().since);
  }
  if (idle_total_ > 0)
    sweep_timer_.arm(
        std::chrono::ceil<std::chrono::milliseconds>(oldest_kept + idle_timeout_ - now));
}

}  // namespace fulcrum::upstream
