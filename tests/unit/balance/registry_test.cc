#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "balance/registry.h"

using fulcrum::balance::findStrategy;
using fulcrum::balance::strategyNames;

TEST_CASE("balance: the registry finds strategies by name and refuses unknown ones") {
  REQUIRE(findStrategy("round_robin") != nullptr);
  CHECK_FALSE(findStrategy("round_robin")->uses_hash);
  CHECK(findStrategy("nope") == nullptr);
  REQUIRE(findStrategy("maglev") != nullptr);
  CHECK(findStrategy("maglev")->uses_hash);
  CHECK(findStrategy("maglev")->table_builder != nullptr);
  // Its smooth cycle is shared like a hash table, but picks do not hash.
  REQUIRE(findStrategy("weighted_round_robin") != nullptr);
  CHECK(findStrategy("weighted_round_robin")->table_builder != nullptr);
  CHECK_FALSE(findStrategy("weighted_round_robin")->uses_hash);
}

TEST_CASE("balance: only hash strategies have a keyless fallback") {
  for (const auto& name : strategyNames()) {
    CAPTURE(name.name);
    const auto* info = findStrategy(name.name);
    REQUIRE(info != nullptr);
    CHECK(static_cast<bool>(info->keyless) == info->uses_hash);
  }
}

TEST_CASE("balance: the names given to config validation are the registry's, in order") {
  std::vector<std::string> names;
  std::vector<std::string> hashing;
  for (const auto& name : strategyNames()) {
    names.push_back(name.name);
    if (name.uses_hash) hashing.push_back(name.name);
    REQUIRE(findStrategy(name.name) != nullptr);
    CHECK(findStrategy(name.name)->uses_hash == name.uses_hash);
  }
  CHECK(names == std::vector<std::string>{"round_robin", "weighted_round_robin", "least_conn",
                                          "least_time", "random", "p2c", "ring_hash", "maglev"});
  CHECK(hashing == std::vector<std::string>{"ring_hash", "maglev"});
}
