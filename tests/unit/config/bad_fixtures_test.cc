// Every file in tests/fixtures/bad/ is a config with one kind of mistake
// (or several, for the "reported together" case). Its trailing
// "# expect: LINE:COLUMN: KEY: MESSAGE" comments are exactly the errors the
// loader must report, in order, each prefixed with the file's path.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "balance/registry.h"
#include "config/loader.h"

namespace {

std::vector<std::string> expectations(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  const std::string marker = "# expect: ";
  while (std::getline(in, line))
    if (line.rfind(marker, 0) == 0) out.push_back(path + ":" + line.substr(marker.size()));
  return out;
}

}  // namespace

TEST_CASE("every bad config fixture reports exactly its errors with file:line:column") {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(FULCRUM_FIXTURES "/bad"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 35);

  for (const auto& file : files) {
    CAPTURE(file);
    std::vector<std::string> expected = expectations(file);
    REQUIRE_FALSE(expected.empty());
    fulcrum::config::LoadResult result =
        fulcrum::config::loadConfigFile(file, fulcrum::balance::strategyNames());
    CHECK_FALSE(result.config.has_value());
    std::vector<std::string> actual;
    for (const auto& error : result.errors) actual.push_back(error.toString());
    CHECK(actual == expected);
  }
}

TEST_CASE("a missing config file is one error naming the file") {
  auto result = fulcrum::config::loadConfigFile("/nonexistent/fulcrum.yaml",
                                                fulcrum::balance::strategyNames());
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].toString() ==
        "/nonexistent/fulcrum.yaml: cannot read the file: No such file or directory");
}

TEST_CASE("a host name that does not resolve is an error at its address") {
  auto result = fulcrum::config::loadConfigText(
      "listeners:\n"
      "  - { name: edge, listen: 127.0.0.1:0, upstream: pool }\n"
      "upstreams:\n"
      "  pool:\n"
      "    servers:\n"
      "      - { address: no-such-host.invalid:80 }\n",
      "inline.yaml", fulcrum::balance::strategyNames());
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].toString().rfind(
            "inline.yaml:6:20: upstreams.pool.servers[0].address: bad address "
            "'no-such-host.invalid:80': cannot resolve 'no-such-host.invalid'",
            0) == 0);
}
