// Debian's redis-server as a test peer: started by the test on a Unix
// socket in its own temporary folder (no port to collide with another
// test), with nothing persisted; ready once it says so; stopped by PID.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace fulcrum::test {

class RedisServer {
 public:
  RedisServer();  // started; REQUIREs that it became ready
  ~RedisServer();

  // "unix:/tmp/.../redis.sock", for idempotency_store.address.
  std::string address() const { return "unix:" + socketPath(); }
  std::string socketPath() const { return dir_.path() + "/redis.sock"; }
  // Kills it (SIGKILL: a crash, no goodbye to its clients) and waits for its exit.
  void kill();
  // Starts it again on the same socket, empty.
  void start();
  bool running() const { return process_ != nullptr; }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace fulcrum::test
