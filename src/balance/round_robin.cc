#include "balance/round_robin.h"

namespace fulcrum::balance {

void RoundRobin::rebuild(const upstream::HostSet& hosts) {
  hosts_ = hosts;
  cursor_ = hosts_.hosts.empty() ? 0 : random_.below(hosts_.hosts.size());
}

const upstream::Server* RoundRobin::pick(const upstream::PickContext& ctx) {
  const size_t count = hosts_.hosts.size();
  for (size_t step = 0; step < count; ++step) {
    const upstream::Server* server = hosts_.hosts[cursor_];
    cursor_ = cursor_ + 1 == count ? 0 : cursor_ + 1;
    if (!ctx.tried.contains(server->index)) return server;
  }
  return nullptr;
}

}  // namespace fulcrum::balance
