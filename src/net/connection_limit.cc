#include "net/connection_limit.h"

#include <algorithm>

namespace fulcrum::net {

ConnectionLimit::ConnectionLimit(size_t max) : max_(std::max<size_t>(max, 1)) {}

void ConnectionLimit::join(Member& member) {
  std::lock_guard lock(mutex_);
  members_.push_back(&member);
}

void ConnectionLimit::leave(Member& member) {
  std::lock_guard lock(mutex_);
  members_.erase(std::remove(members_.begin(), members_.end(), &member), members_.end());
}

bool ConnectionLimit::add() {
  const size_t now = active_.fetch_add(1, std::memory_order_acq_rel) + 1;
  // Far from the limit no lock is taken. At or over it every add settles,
  // so full() cannot be left stale by a close racing this accept.
  if (now < max()) return false;
  return settle();
}

void ConnectionLimit::remove(size_t count) {
  if (count == 0) return;
  const size_t before = active_.fetch_sub(count, std::memory_order_acq_rel);
  if (before >= max()) settle();
}

void ConnectionLimit::setMax(size_t max) {
  max_.store(std::max<size_t>(max, 1), std::memory_order_relaxed);
  settle();
}

bool ConnectionLimit::settle() {
  std::lock_guard lock(mutex_);
  // Read under the lock: the last settle to run sees counts at least as
  // recent as the last add or remove that crossed the limit, so full()
  // ends up right whatever the interleaving.
  const bool full = active_.load(std::memory_order_acquire) >= max();
  if (full != full_.load(std::memory_order_relaxed)) {
    full_.store(full, std::memory_order_release);
    for (Member* member : members_) member->limitChanged();
  }
  return full;
}

void ConnectionLimit::addLimited(const std::string& listener, uint64_t count) {
  std::lock_guard lock(mutex_);
  limited_[listener] += count;
}

uint64_t ConnectionLimit::limited(const std::string& listener) const {
  std::lock_guard lock(mutex_);
  auto found = limited_.find(listener);
  return found == limited_.end() ? 0 : found->second;
}

}  // namespace fulcrum::net
