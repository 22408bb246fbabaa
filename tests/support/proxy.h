// The real fulcrum binary as a child process, on a config the test writes.
// port(name) waits for the listener's "listening on" log line and returns
// the port the kernel gave it (configs use port 0).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace fulcrum::test {

class Proxy {
 public:
  explicit Proxy(const std::string& yaml);
  // Started through `launcher` (a program that execs its arguments, as
  // "prlimit --nofile=64:64 --"): the child's PID is still fulcrum's.
  Proxy(const std::string& yaml, const std::vector<std::string>& launcher);

  uint16_t port(const std::string& listener);
  // The admin listener's port (configs use admin.listen 127.0.0.1:0).
  uint16_t adminPort();
  ChildProcess& process() { return *process_; }
  const std::string& configPath() const { return config_path_; }

 private:
  TempDir dir_;
  std::string config_path_;
  std::unique_ptr<ChildProcess> process_;
  std::map<std::string, uint16_t> ports_;
  uint16_t admin_port_ = 0;
};

// Runs `fulcrum ARGS...` to completion (bounded) and returns its status and output.
CommandResult runFulcrum(const std::vector<std::string>& args);

}  // namespace fulcrum::test
