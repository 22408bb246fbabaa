// Debian's redis-server as a test peer: started by the test on a Unix
// socket in its own temporary folder (no port to collide with another
// test), or on a free loopback port found at run time, optionally with a
// password; with nothing persisted; ready once it says so; stopped by PID.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace fulcrum::test {

struct RedisOptions {
  bool tcp = false;      // listen on 127.0.0.1 at a free port instead of a Unix socket
  std::string password;  // set: clients must AUTH with it (--requirepass)
};

class RedisServer {
 public:
  explicit RedisServer(RedisOptions options = {});  // started; REQUIREs that it became ready
  ~RedisServer();

  // "unix:/tmp/.../redis.sock" or "127.0.0.1:PORT", for idempotency_store.address.
  std::string address() const;
  std::string socketPath() const { return dir_.path() + "/redis.sock"; }
  // idempotency_store entries for a ledger on this server (no password_file).
  std::string storeConfig() const;
  // Runs redis-cli against this server (with its password) to completion.
  CommandResult cli(const std::vector<std::string>& args) const;
  // Kills it (SIGKILL: a crash, no goodbye to its clients) and waits for its exit.
  void kill();
  // Starts it again on the same socket or port, empty.
  void start();
  bool running() const { return process_ != nullptr; }

 private:
  bool launch();  // false when the port was taken meanwhile

  RedisOptions options_;
  uint16_t port_ = 0;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace fulcrum::test
