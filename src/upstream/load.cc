#include "upstream/load.h"

#include <algorithm>
#include <cmath>

namespace fulcrum::upstream {

LoadTable::LoadTable(size_t servers, std::chrono::milliseconds decay)
    : entries_(servers), decay_us_(static_cast<double>(decay.count()) * 1000.0) {}

void LoadTable::observeLatency(uint32_t index, std::chrono::microseconds latency,
                               Clock::time_point now) {
  Entry& entry = entries_[index];
  double sample = static_cast<double>(latency.count());
  if (entry.ewma_us == 0 || sample > entry.ewma_us) {
    entry.ewma_us = sample;
  } else {
    double elapsed = std::chrono::duration<double, std::micro>(now - entry.stamp).count();
    double keep = std::exp(-std::max(elapsed, 0.0) / decay_us_);
    entry.ewma_us = entry.ewma_us * keep + sample * (1.0 - keep);
  }
  entry.stamp = now;
  entry.rank_known = false;
  notify(index, LoadChange::Latency);
}

double LoadTable::latencyRank(uint32_t index) const {
  const Entry& entry = entries_[index];
  if (!entry.rank_known) {
    // ln(ewma * exp(-(t - stamp) / decay)) + t / decay: the time t cancels.
    const double stamp_us =
        std::chrono::duration<double, std::micro>(entry.stamp.time_since_epoch()).count();
    entry.rank = std::log(entry.ewma_us) + stamp_us / decay_us_;
    entry.rank_known = true;
  }
  return entry.rank;
}

double LoadTable::latencyUs(uint32_t index, Clock::time_point now) const {
  const Entry& entry = entries_[index];
  if (entry.ewma_us == 0) return 0;
  // An idle server's last sample fades toward 0 so it gets tried again.
  double elapsed = std::chrono::duration<double, std::micro>(now - entry.stamp).count();
  return entry.ewma_us * std::exp(-std::max(elapsed, 0.0) / decay_us_);
}

void LoadTable::addObserver(LoadObserver* observer) {
  observers_.push_back(observer);
}

void LoadTable::removeObserver(LoadObserver* observer) {
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

}  // namespace fulcrum::upstream
