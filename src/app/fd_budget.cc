#include "app/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "core/errno_text.h"

namespace fulcrum::app {
namespace {

constexpr uint64_t kProcessDescriptors = 32;
constexpr uint64_t kPerWorkerDescriptors = 4;

// The kernel's ceiling on any process's descriptors (an unlimited hard
// RLIMIT_NOFILE cannot be used as a soft limit).
uint64_t kernelMaxOpen() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t value = 0;
  if (in >> value && value > 0) return value;
  return 1048576;  // the kernel's default
}

}  // namespace

uint64_t reservedDescriptors(const config::Config& config, unsigned workers) {
  const uint64_t w = std::max(workers, 1u);
  uint64_t reserved = kProcessDescriptors + kPerWorkerDescriptors * w;
  // Each worker's listening socket, and the control thread's copy of it
  // (kept to hand over on a takeover).
  reserved += 2 * config.listeners.size() * w;
  reserved += 1 + config.global.admin.max_connections;
  uint64_t idle_per_worker = 0;
  for (const config::UpstreamConfig& upstream : config.upstreams) {
    if (upstream.health_check.enabled) reserved += upstream.servers.size();
    // Without a cap, the pool holds no more than the requests in flight at
    // the recent peak, each of which already counts 2 per client connection.
    if (upstream.keepalive_max_idle)
      idle_per_worker += upstream.servers.size() * uint64_t{*upstream.keepalive_max_idle};
  }
  return reserved + idle_per_worker * w;
}

DescriptorBudget descriptorBudget(const config::Config& config, unsigned workers,
                                  uint64_t open_files) {
  DescriptorBudget budget;
  budget.open_files = open_files;
  budget.reserved = reservedDescriptors(config, workers);
  if (config.global.max_connections != 0) {
    budget.derived = false;
    budget.max_connections = config.global.max_connections;
  } else if (open_files >= budget.reserved + 2) {
    budget.max_connections = static_cast<size_t>((open_files - budget.reserved) / 2);
  } else {
    budget.max_connections = static_cast<size_t>(std::max<uint64_t>(open_files / 8, 1));
  }
  budget.fits = budget.reserved + 2 * uint64_t{budget.max_connections} <= open_files;
  return budget;
}

std::string describe(const DescriptorBudget& budget) {
  std::string text = "max_connections " + std::to_string(budget.max_connections);
  const std::string files = std::to_string(budget.open_files);
  const std::string reserved = std::to_string(budget.reserved);
  if (budget.derived && budget.fits)
    return text + " (from the open files limit " + files + ": 2 per connection after " + reserved +
           " kept for listeners, health checks, the admin listener and idle " +
           "server connections)";
  if (budget.derived)
    return text + ": the open files limit " + files + " is too low for this configuration (" +
           reserved + " descriptors kept before any client); raise it (LimitNOFILE=, ulimit -n)";
  if (budget.fits) return text + " (global.max_connections; open files limit " + files + ")";
  return text + " (global.max_connections) needs about " +
         std::to_string(budget.reserved + 2 * uint64_t{budget.max_connections}) +
         " descriptors but the open files limit is " + files +
         ": past that, connects and health checks fail locally (EMFILE)";
}

OpenFilesLimit raiseOpenFilesLimit(uint64_t wanted) {
  OpenFilesLimit result;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    result.error = errnoText(errno);
    return result;
  }
  const uint64_t ceiling = std::min<uint64_t>(
      limit.rlim_max == RLIM_INFINITY ? kernelMaxOpen() : limit.rlim_max, kernelMaxOpen());
  // An unlimited soft limit is really the kernel's ceiling.
  result.before = limit.rlim_cur == RLIM_INFINITY ? ceiling : limit.rlim_cur;
  result.soft = result.before;
  result.hard = ceiling;
  const uint64_t target = wanted == 0 ? ceiling : std::min(wanted, ceiling);
  if (target <= result.soft) return result;
  limit.rlim_cur = static_cast<rlim_t>(target);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    result.error = errnoText(errno);
    return result;
  }
  result.soft = target;
  return result;
}

}  // namespace fulcrum::app
