#include "balance/least_conn.h"

namespace fulcrum::balance {

ConnScore LeastConn::scoreOf(uint32_t position, uint32_t server_index) const {
  return ConnScore{uint64_t{load().active(server_index)} + 1, hosts().weights[position]};
}

}  // namespace fulcrum::balance
