#include "support/redis_server.h"

#include <doctest/doctest.h>
#include <signal.h>

#include "support/net.h"

namespace fulcrum::test {

RedisServer::RedisServer(RedisOptions options) : options_(std::move(options)) {
  start();
}

RedisServer::~RedisServer() {
  kill();
}

std::string RedisServer::address() const {
  return options_.tcp ? "127.0.0.1:" + std::to_string(port_) : "unix:" + socketPath();
}

std::string RedisServer::storeConfig() const {
  return "type: redis, address: \"" + address() + "\", timeout: 200ms";
}

CommandResult RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/bin/redis-cli"};
  if (options_.tcp)
    argv.insert(argv.end(), {"-h", "127.0.0.1", "-p", std::to_string(port_)});
  else
    argv.insert(argv.end(), {"-s", socketPath()});
  if (!options_.password.empty())
    argv.insert(argv.end(), {"--no-auth-warning", "-a", options_.password});
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

void RedisServer::start() {
  REQUIRE(process_ == nullptr);
  if (!options_.tcp || port_ != 0) {
    REQUIRE(launch());
    return;
  }
  // A free port may be taken by another program before redis binds it: a
  // few tries, each on a port the kernel found free.
  bool ready = false;
  for (int attempt = 0; attempt < 5 && !ready; ++attempt) {
    port_ = freeLoopbackPort();
    ready = launch();
  }
  REQUIRE(ready);
}

bool RedisServer::launch() {
  std::vector<std::string> argv{"/usr/bin/redis-server",
                                "--save",
                                "",
                                "--appendonly",
                                "no",
                                "--dir",
                                dir_.path(),
                                "--loglevel",
                                "notice"};
  if (options_.tcp)
    argv.insert(argv.end(), {"--bind", "127.0.0.1", "--port", std::to_string(port_)});
  else
    argv.insert(argv.end(),
                {"--port", "0", "--unixsocket", socketPath(), "--unixsocketperm", "700"});
  if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
  process_ = std::make_unique<ChildProcess>(argv);
  // "Ready to accept connections" on a port, "...now ready to accept
  // connections at PATH" on a socket.
  const std::string ready = "eady to accept connections";
  auto line = process_->waitForLine([&](const std::string& text) {
    return text.find(ready) != std::string::npos ||
           text.find("Could not create server TCP listening socket") != std::string::npos;
  });
  if (line && line->find(ready) != std::string::npos) return true;
  kill();
  return false;
}

void RedisServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->waitExit();
  process_.reset();
}

}  // namespace fulcrum::test
