// The `make run` stack in miniature: demo backends (the repo's own tiny
// HTTP server) behind the proxy, answered over plain HTTP/1.1.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>

#include <map>
#include <memory>

#include "support/configs.h"
#include "support/net.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

struct DemoBackend {
  std::unique_ptr<ChildProcess> process;
  uint16_t port = 0;
};

DemoBackend startDemoBackend(const std::string& name) {
  DemoBackend backend;
  backend.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{FULCRUM_DEMO_BACKEND, "--name", name, "--listen", "127.0.0.1:0"});
  auto line = backend.process->waitForText(name + " listening on 127.0.0.1:");
  REQUIRE(line);
  backend.port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  return backend;
}

std::string get(uint16_t port) {
  Fd client = connectLoopback(port);
  REQUIRE(client);
  REQUIRE(writeAll(client.get(), "GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n"));
  std::string response;
  CHECK(readToEof(client.get(), response));
  return response;
}

}  // namespace

TEST_CASE("demo backends answer through the proxy with their names, in turn") {
  DemoBackend one = startDemoBackend("backend-1");
  DemoBackend two = startDemoBackend("backend-2");
  Proxy proxy(TcpConfig{.primaries = {one.port, two.port}, .workers = 1}.yaml());
  uint16_t port = proxy.port("edge");
  std::map<std::string, int> answered;
  for (int i = 0; i < 4; ++i) {
    std::string response = get(port);
    CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    for (const char* name : {"backend-1", "backend-2"})
      if (response.find(std::string("X-Backend: ") + name + "\r\n") != std::string::npos &&
          response.size() > 10 && response.substr(response.size() - 10) == std::string(name) + "\n")
        answered[name]++;
  }
  CHECK(answered["backend-1"] == 2);
  CHECK(answered["backend-2"] == 2);
  one.process->signal(SIGTERM);
  two.process->signal(SIGTERM);
  CHECK(one.process->waitExit() == 0);
  CHECK(two.process->waitExit() == 0);
}
