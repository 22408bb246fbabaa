#include "balance/least_conn.h"

#include <cstdint>

namespace fulcrum::balance {

LeastConn::LeastConn(const upstream::StrategyEnv& env) : env_(env) {}

void LeastConn::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts;
  start_ = hosts_.hosts.empty() ? 0 : env_.random->below(hosts_.hosts.size());
}

const upstream::Server* LeastConn::pick(const upstream::PickContext& ctx) {
  const size_t count = hosts_.hosts.size();
  const upstream::Server* best = nullptr;
  size_t best_position = 0;
  uint64_t best_load = 0;  // active + 1 of `best`
  size_t position = start_;
  for (size_t step = 0; step < count; ++step) {
    const upstream::Server* server = hosts_.hosts[position];
    if (!ctx.tried.contains(server->index)) {
      const uint64_t load = uint64_t{env_.load->active(server->index)} + 1;
      // load / weight < best_load / best_weight, without division.
      if (best == nullptr || load * best->weight < best_load * server->weight) {
        best = server;
        best_position = position;
        best_load = load;
      }
    }
    position = position + 1 == count ? 0 : position + 1;
  }
  if (best != nullptr) start_ = best_position + 1 == count ? 0 : best_position + 1;
  return best;
}

}  // namespace fulcrum::balance
