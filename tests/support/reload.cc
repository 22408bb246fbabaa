#include "support/reload.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <cstdio>
#include <fstream>

#include "support/progress.h"

namespace fulcrum::test {

namespace {
constexpr auto npos = std::string::npos;
}  // namespace

void replaceConfig(const Proxy& proxy, const std::string& yaml) {
  const std::string next = proxy.configPath() + ".next";
  {
    std::ofstream out(next, std::ios::trunc);
    out << yaml;
    out.close();
    REQUIRE(out.good());
  }
  REQUIRE(std::rename(next.c_str(), proxy.configPath().c_str()) == 0);
}

std::optional<std::string> nthLine(ChildProcess& process,
                                   const std::function<bool(const std::string&)>& match, int n,
                                   std::chrono::milliseconds deadline) {
  int seen = 0;
  return process.waitForLine([&](const std::string& line) { return match(line) && ++seen == n; },
                             deadline);
}

std::optional<std::string> nthText(ChildProcess& process, const std::string& text, int n,
                                   std::chrono::milliseconds deadline) {
  return nthLine(
      process, [&](const std::string& line) { return line.find(text) != npos; }, n, deadline);
}

std::string Reloader::reload(const std::string& yaml) {
  replaceConfig(proxy_, yaml);
  proxy_.process().signal(SIGHUP);
  auto outcome = nthLine(
      proxy_.process(),
      [](const std::string& line) {
        return line.find("configuration reloaded") != npos ||
               line.find("configuration reload failed") != npos;
      },
      ++outcomes_);
  if (!outcome) return "";
  if (outcome->find("configuration reloaded") != npos) {
    ++succeeded_;
    // Each successful reload runs the next generation.
    const uint64_t generation = kFirstGeneration + static_cast<uint64_t>(succeeded_);
    if (!waitForGeneration(proxy_, generation)) return "";
    CHECK(readProgress(proxy_).workers.size() == workers_);
  }
  return *outcome;
}

bool Reloader::succeeds(const std::string& yaml) {
  return reload(yaml).find("configuration reloaded") != npos;
}

bool Reloader::fails(const std::string& yaml) {
  return reload(yaml).find("configuration reload failed") != npos;
}

}  // namespace fulcrum::test
