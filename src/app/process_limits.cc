// The Process's limits (process.h): the open files limit, raised at
// startup, and global.max_connections, derived from it unless written
// (app/fd_budget.h has the formula), set again on every reload.
#include "app/fd_budget.h"
#include "app/process.h"
#include "core/log.h"

namespace fulcrum::app {
namespace {

// Raises the soft open files limit where that helps (as nginx's
// worker_rlimit_nofile and HAProxy do): for a written max_connections as
// far as it needs, else as far as the hard limit allows, since the default
// is derived from it. Returns the budget under the limit then in force.
DescriptorBudget planDescriptors(const config::Config& config, unsigned workers) {
  const unsigned written = config.global.max_connections;
  const uint64_t wanted =
      written == 0 ? 0 : reservedDescriptors(config, workers) + 2 * uint64_t{written};
  const OpenFilesLimit files = raiseOpenFilesLimit(wanted);
  const auto shown = [](uint64_t n) { return static_cast<unsigned long long>(n); };
  if (!files.error.empty())
    log::warn("cannot raise the open files limit (RLIMIT_NOFILE, now %llu): %s",
              shown(files.before), files.error.c_str());
  else if (files.soft > files.before)
    log::info("raised the open files limit (RLIMIT_NOFILE) from %llu to %llu (hard limit %llu)",
              shown(files.before), shown(files.soft), shown(files.hard));
  return descriptorBudget(config, workers, files.soft);
}

void logBudget(const DescriptorBudget& budget) {
  if (budget.fits)
    log::info("%s", describe(budget).c_str());
  else
    log::warn("%s", describe(budget).c_str());
}

}  // namespace

void Process::startLimits() {
  const DescriptorBudget budget = planDescriptors(runtime_->config(), worker_count_);
  connection_limit_ = std::make_unique<net::ConnectionLimit>(budget.max_connections);
  logBudget(budget);
}

void Process::updateConnectionLimit(const config::Config& config) {
  const DescriptorBudget budget = planDescriptors(config, worker_count_);
  if (budget.max_connections == connection_limit_->max()) return;
  connection_limit_->setMax(budget.max_connections);
  logBudget(budget);
}

}  // namespace fulcrum::app
