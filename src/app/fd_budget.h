// How many client connections the process can hold: the default of
// global.max_connections, derived from the open files limit
// (RLIMIT_NOFILE), and raising that limit at startup.
//
// Every client connection may hold two descriptors, its own and one to a
// server (HTTP: one server connection at a time; TCP: exactly one). Other
// descriptors are kept out of that budget first, so a flood of clients can
// never take the ones the health checks, the admin listener and pooled
// server connections need (HAProxy derives maxconn from ulimit-n the same
// way):
//
//   reserved = 32                                  stdio, control loop, log files, resolver
//            + 4 x workers                         each worker's loop
//            + 2 x listeners x workers             one SO_REUSEPORT socket each, and
//                                                  its copy kept for a takeover
//            + 1 + global.admin.max_connections    the admin listener
//            + servers with a health_check         one probe in flight each
//            + workers x sum(servers x keepalive.max_idle)   idle pooled connections
//   max_connections = (open files - reserved) / 2
//
// When the limit is too low for even that, max_connections is
// open files / 8 (at least 1) and the budget says it does not fit.
// man/fulcrum.yaml.5 (global.max_connections) documents the same formula.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/schema.h"

namespace fulcrum::app {

struct DescriptorBudget {
  uint64_t open_files = 0;  // the soft limit it was computed for
  uint64_t reserved = 0;    // descriptors kept out of the client budget
  size_t max_connections = 0;
  bool derived = true;  // false: global.max_connections was written
  bool fits = true;     // reserved + 2 x max_connections <= open_files
};

// Descriptors kept for everything but client connections (formula above).
uint64_t reservedDescriptors(const config::Config& config, unsigned workers);
// The limit for `config` run by `workers` workers under `open_files`.
DescriptorBudget descriptorBudget(const config::Config& config, unsigned workers,
                                  uint64_t open_files);
// One line for the log: "max_connections 5000 (written; needs ... )".
std::string describe(const DescriptorBudget& budget);

struct OpenFilesLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t soft = 0;    // the soft limit now
  uint64_t hard = 0;
  std::string error;  // why raising failed; empty when it did not
};

// Raises the soft RLIMIT_NOFILE toward `wanted` (0: as far as allowed),
// never past the hard limit nor fs.nr_open, and never lowers it.
OpenFilesLimit raiseOpenFilesLimit(uint64_t wanted);

}  // namespace fulcrum::app
