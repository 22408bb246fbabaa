#include "support/redis_server.h"

#include <doctest/doctest.h>
#include <signal.h>

namespace fulcrum::test {

RedisServer::RedisServer() {
  start();
}

RedisServer::~RedisServer() {
  kill();
}

void RedisServer::start() {
  REQUIRE(process_ == nullptr);
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      "/usr/bin/redis-server", "--port", "0", "--unixsocket", socketPath(), "--unixsocketperm",
      "700", "--save", "", "--appendonly", "no", "--dir", dir_.path(), "--loglevel", "notice"});
  REQUIRE(process_->waitForText("ready to accept connections"));
}

void RedisServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->waitExit();
  process_.reset();
}

}  // namespace fulcrum::test
