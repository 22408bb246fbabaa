#include <doctest/doctest.h>

#include <sys/resource.h>

#include "app/fd_budget.h"
#include "support/configs.h"

using namespace fulcrum;

namespace {

config::Config load(const std::string& yaml) {
  return test::loadValidConfig(yaml);
}

// Two listeners; upstream "pool": 3 checked servers, max_idle 10;
// upstream "ledger": 2 unchecked servers, max_idle 0.
const char* kConfig =
    "global: { admin: { listen: 127.0.0.1:0, max_connections: 16 } }\n"
    "listeners:\n"
    "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
    "  - { name: db, listen: 127.0.0.1:0, upstream: ledger }\n"
    "upstreams:\n"
    "  pool:\n"
    "    keepalive: { max_idle: 10 }\n"
    "    health_check: { type: tcp }\n"
    "    servers:\n"
    "      - { address: 127.0.0.1:9001 }\n"
    "      - { address: 127.0.0.1:9002 }\n"
    "      - { address: 127.0.0.1:9003 }\n"
    "  ledger:\n"
    "    keepalive: { max_idle: 0 }\n"
    "    servers:\n"
    "      - { address: 127.0.0.1:9101 }\n"
    "      - { address: 127.0.0.1:9102 }\n";

}  // namespace

TEST_CASE("descriptors are kept for the process, workers, listeners, admin, checks, pools") {
  config::Config config = load(kConfig);
  // 32 + 4x2 workers + 2 listeners x 2 workers x 2 (the copies kept for a
  // takeover) + (1 + 16) admin + 3 checks + 2 x (3 x 10) idle
  CHECK(app::reservedDescriptors(config, 2) == 32 + 8 + 8 + 17 + 3 + 60);
  // One worker: everything per worker halves.
  CHECK(app::reservedDescriptors(config, 1) == 32 + 4 + 4 + 17 + 3 + 30);
}

TEST_CASE("the default max_connections is half of what the reserve leaves") {
  config::Config config = load(kConfig);
  const uint64_t reserved = app::reservedDescriptors(config, 2);
  app::DescriptorBudget budget = app::descriptorBudget(config, 2, 65536);
  CHECK(budget.derived);
  CHECK(budget.fits);
  CHECK(budget.reserved == reserved);
  CHECK(budget.max_connections == (65536 - reserved) / 2);
  // Every client with a server connection, plus the reserve, fits.
  CHECK(budget.reserved + 2 * budget.max_connections <= 65536);
}

TEST_CASE("an open files limit below the reserve still allows some clients, and says so") {
  config::Config config = load(kConfig);
  app::DescriptorBudget budget = app::descriptorBudget(config, 2, 64);
  CHECK(budget.derived);
  CHECK_FALSE(budget.fits);
  CHECK(budget.max_connections == 8);
  CHECK(app::describe(budget).find("too low") != std::string::npos);
}

TEST_CASE("a written max_connections is kept, and checked against the open files limit") {
  config::Config config = load(std::string("global: { max_connections: 1000 }\n") +
                               std::string(kConfig).substr(std::string(kConfig).find('\n') + 1));
  app::DescriptorBudget roomy = app::descriptorBudget(config, 1, 100000);
  CHECK_FALSE(roomy.derived);
  CHECK(roomy.max_connections == 1000);
  CHECK(roomy.fits);
  app::DescriptorBudget tight = app::descriptorBudget(config, 1, 1024);
  CHECK(tight.max_connections == 1000);
  CHECK_FALSE(tight.fits);
}

TEST_CASE("raising the open files limit never lowers it nor passes the hard limit") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  // Asking for less than the current soft limit changes nothing.
  app::OpenFilesLimit same = app::raiseOpenFilesLimit(1);
  CHECK(same.error.empty());
  CHECK(same.soft == same.before);
  rlimit after{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);
  CHECK(same.soft <= same.hard);
}
