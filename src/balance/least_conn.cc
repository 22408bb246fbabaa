#include "balance/least_conn.h"

#include "balance/least_scan.h"

#include <cstdint>

namespace fulcrum::balance {

LeastConn::LeastConn(const upstream::StrategyEnv& env) : env_(env) {}

void LeastConn::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts;
  start_ = randomStart(hosts_, *env_.random);
}

namespace {

// (active + 1) / weight, compared without division (exact).
struct Load {
  uint64_t load = 0;
  uint64_t weight = 1;
  bool operator<(const Load& other) const { return load * other.weight < other.load * weight; }
};

}  // namespace

const upstream::Server* LeastConn::pick(const upstream::PickContext& ctx) {
  return pickLeast(hosts_, ctx.tried, start_, [this](const upstream::Server& server) {
    return Load{uint64_t{env_.load->active(server.index)} + 1, server.weight};
  });
}

}  // namespace fulcrum::balance
