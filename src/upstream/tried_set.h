// The servers one request or connection has already tried, by Server::index,
// so a retry or a failed connect never picks the same server twice.
// Inline storage for the first 64 servers: no allocation on the common path.
#pragma once

#include <cstdint>
#include <vector>

namespace fulcrum::upstream {

class TriedSet {
 public:
  void add(uint32_t index) {
    if (index < 64) {
      low_ |= uint64_t{1} << index;
      return;
    }
    size_t word = (index - 64) / 64;
    if (high_.size() <= word) high_.resize(word + 1, 0);
    high_[word] |= uint64_t{1} << ((index - 64) % 64);
  }

  bool contains(uint32_t index) const {
    if (index < 64) return (low_ >> index) & 1;
    size_t word = (index - 64) / 64;
    return word < high_.size() && ((high_[word] >> ((index - 64) % 64)) & 1);
  }

  size_t size() const {
    size_t count = static_cast<size_t>(__builtin_popcountll(low_));
    for (uint64_t word : high_) count += static_cast<size_t>(__builtin_popcountll(word));
    return count;
  }

 private:
  uint64_t low_ = 0;
  std::vector<uint64_t> high_;
};

}  // namespace fulcrum::upstream
