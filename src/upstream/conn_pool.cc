#include "upstream/conn_pool.h"

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

std::unique_ptr<net::Stream> ConnPool::take(uint32_t index) {
  auto& list = idle_[index];
  if (list.empty()) return nullptr;
  std::unique_ptr<net::Stream> stream = std::move(list.front().stream);
  list.pop_front();
  --idle_total_;
  // Still reading: a close or stray bytes would have been seen as an event
  // already. The caller installs its handler before the loop runs.
  stream->setHandler(nullptr);
  return stream;
}

std::unique_ptr<net::Stream> ConnPool::take(uint32_t index, std::chrono::milliseconds max_age) {
  const auto& list = idle_[index];
  // Most recent first: if the front is too old, all are.
  if (list.empty() || std::chrono::steady_clock::now() - list.front().since >= max_age)
    return nullptr;
  return take(index);
}

void ConnPool::adopt(ConnPool& from, uint32_t from_index, uint32_t to_index) {
  auto& source = from.idle_[from_index];
  while (!source.empty()) {
    Idle idle = std::move(source.back());  // oldest first, so the newest ends up in front
    source.pop_back();
    --from.idle_total_;
    auto& list = idle_[to_index];
    if (list.size() >= max_idle_) {
      idle.stream->setHandler(nullptr);
      loop_.deferDelete(std::move(idle.stream));
      countClosed(1);
      continue;
    }
    idle.stream->setHandler(this);
    list.push_front(std::move(idle));
    if (++idle_total_ == 1) sweep_timer_.arm(idle_timeout_);
  }
}

void ConnPool::give(uint32_t index, std::unique_ptr<net::Stream> connection) {
  auto& list = idle_[index];
  if (list.size() >= max_idle_) {
    connection->setHandler(nullptr);
    loop_.deferDelete(std::move(connection));  // may be inside its own callback
    countClosed(1);
    return;
  }
  connection->setHandler(this);
  connection->setReading(true);
  list.push_front(Idle{std::move(connection), std::chrono::steady_clock::now()});
  if (++idle_total_ == 1) sweep_timer_.arm(idle_timeout_);
}

void ConnPool::drop(net::Stream& stream) {
  for (auto& list : idle_) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->stream.get() != &stream) continue;
      it->stream->setHandler(nullptr);
      it->stream->setReading(false);
      loop_.deferDelete(std::move(it->stream));  // we are inside its callback
      list.erase(it);
      --idle_total_;
      countClosed(1);
      return;
    }
  }
}

void ConnPool::sweep() {
  auto now = std::chrono::steady_clock::now();
  auto oldest_kept = now;
  for (auto& list : idle_) {
    // Most recent first: expired ones are at the back.
    while (!list.empty() && now - list.back().since >= idle_timeout_) {
      list.pop_back();
      --idle_total_;
      countClosed(1);
    }
    if (!list.empty()) oldest_kept = std::min(oldest_kept, list.back().since);
  }
  if (idle_total_ > 0)
    sweep_timer_.arm(
        std::chrono::ceil<std::chrono::milliseconds>(oldest_kept + idle_timeout_ - now));
}

}  // namespace fulcrum::upstream
