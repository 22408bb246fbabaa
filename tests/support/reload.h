// Reloading a running proxy from a test: the config file is replaced in
// one step (a temp file renamed over it, so the proxy never reads half a
// file), SIGHUP is sent and the outcome line is awaited ("configuration
// reloaded" or "configuration reload failed", counted, so each wait is for
// the next one) and, after a success, until /status.json shows every worker
// on the new configuration generation. Every wait has a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "support/process.h"
#include "support/proxy.h"

namespace fulcrum::test {

// Replaces the file in one step: the proxy reads the old one or the new one.
void replaceConfig(const Proxy& proxy, const std::string& yaml);

// The `n`-th output line (1-based) for which `match` holds.
std::optional<std::string> nthLine(ChildProcess& process,
                                   const std::function<bool(const std::string&)>& match, int n,
                                   std::chrono::milliseconds deadline = kDeadline);
std::optional<std::string> nthText(ChildProcess& process, const std::string& text, int n,
                                   std::chrono::milliseconds deadline = kDeadline);

// Reloads one proxy and counts the outcomes.
class Reloader {
 public:
  // `workers`: how many the proxy runs (its global.workers).
  Reloader(Proxy& proxy, unsigned workers) : proxy_(proxy), workers_(workers) {}

  // Replaces the file, sends SIGHUP and returns the outcome line (empty when
  // none came). After a success, also waits until every worker applied the
  // new generation: from then on new connections and requests use it.
  std::string reload(const std::string& yaml);
  bool succeeds(const std::string& yaml);
  bool fails(const std::string& yaml);
  int succeeded() const { return succeeded_; }

 private:
  Proxy& proxy_;
  size_t workers_;
  int outcomes_ = 0;
  int succeeded_ = 0;
};

}  // namespace fulcrum::test
