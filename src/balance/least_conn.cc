#include "balance/least_conn.h"

namespace fulcrum::balance {

ConnScore LeastConn::scoreOf(uint32_t position) const {
  const upstream::HostSet& set = hosts();
  return ConnScore{uint64_t{load().active(set.hosts[position]->index)} + 1,
                   set.weights[position]};
}

}  // namespace fulcrum::balance
