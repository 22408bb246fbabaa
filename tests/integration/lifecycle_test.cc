// The command line and the process lifecycle: -t, -v, exit codes, signals,
// drain.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>

#include "support/configs.h"
#include "support/net.h"
#include "support/proxy.h"
#include "support/temp_dir.h"

using namespace fulcrum::test;

namespace {

// Echoes until the client's FIN, then closes.
void echo(int fd) {
  std::string chunk;
  while (readExactly(fd, chunk, 1)) {
    if (!writeAll(fd, chunk)) return;
    chunk.clear();
  }
}

}  // namespace

TEST_CASE("fulcrum -t prints configuration OK and exits 0 for a good file") {
  TempDir dir;
  std::string path = dir.write("good.yaml", TcpConfig{.primaries = {9001}}.yaml());
  CommandResult result = runFulcrum({"-t", "-c", path});
  CHECK(result.status == 0);
  CHECK(result.output == "configuration OK\n");
}

TEST_CASE("fulcrum -t prints every error with file:line:column and exits 1") {
  TempDir dir;
  std::string path = dir.write("bad.yaml",
                               "global: { workers: none }\n"
                               "listeners:\n"
                               "  - { name: edge, listen: 127.0.0.1:0, upstream: missing }\n"
                               "upstreams:\n"
                               "  pool: { servers: [ { address: 127.0.0.1:9001 } ] }\n");
  CommandResult result = runFulcrum({"-t", "-c", path});
  CHECK(result.status == 1);
  CHECK(result.output.find(
            path +
            ":1:20: global.workers: expected auto or a whole number from 1 to 1024, got 'none'") !=
        std::string::npos);
  CHECK(result.output.find(
            path + ":3:50: listeners[0].upstream: no upstream named 'missing' is defined") !=
        std::string::npos);
  CHECK(result.output.find("fulcrum: 2 error(s) in " + path) != std::string::npos);
}

TEST_CASE("fulcrum -t prints warnings and passes, -t --strict fails on them") {
  TempDir dir;
  std::string path = dir.write("risky.yaml",
                               "listeners:\n"
                               "  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: "
                               "pool }\n"
                               "upstreams:\n"
                               "  pool:\n"
                               "    retries: { reuse_safe_window: 30s }\n"
                               "    servers: [ { address: 127.0.0.1:9001 } ]\n");
  CommandResult relaxed = runFulcrum({"-t", "-c", path});
  CHECK(relaxed.status == 0);
  CHECK(relaxed.output.find(path + ":5:35: upstreams.pool.retries.reuse_safe_window: warning: ") !=
        std::string::npos);
  CHECK(relaxed.output.find("configuration OK") != std::string::npos);

  CommandResult strict = runFulcrum({"-t", "--strict", "-c", path});
  CHECK(strict.status == 1);
  CHECK(strict.output.find("fulcrum: 1 warning(s) in " + path + " (--strict)") !=
        std::string::npos);
  CHECK(strict.output.find("configuration OK") == std::string::npos);

  // A file without warnings passes --strict.
  std::string clean = dir.write("clean.yaml", TcpConfig{.primaries = {9001}}.yaml());
  CHECK(runFulcrum({"-t", "--strict", "-c", clean}).status == 0);
}

TEST_CASE("fulcrum -v prints the version and a bad option exits 2") {
  CommandResult version = runFulcrum({"--version"});
  CHECK(version.status == 0);
  CHECK(version.output.rfind("fulcrum ", 0) == 0);
  CommandResult bad = runFulcrum({"--frobnicate"});
  CHECK(bad.status == 2);
  CHECK(bad.output.find("unknown option --frobnicate") != std::string::npos);
  CommandResult missing_file = runFulcrum({"-c"});
  CHECK(missing_file.status == 2);
}

TEST_CASE("a listen address that is taken makes fulcrum exit 3") {
  uint16_t taken = 0;
  Fd holder = listenLoopback(taken);  // no SO_REUSEPORT: nobody can share it
  TempDir dir;
  std::string yaml = TcpConfig{.primaries = {9001}}.yaml();
  yaml.replace(yaml.find("127.0.0.1:0\n    upstream"), 11, "127.0.0.1:" + std::to_string(taken));
  CommandResult result = runFulcrum({"-c", dir.write("taken.yaml", yaml)});
  CHECK(result.status == 3);
  CHECK(result.output.find("listener edge: cannot listen: bind 127.0.0.1:" +
                           std::to_string(taken)) != std::string::npos);
}

TEST_CASE("SIGTERM stops accepting, lets open connections finish, then exits 0") {
  TcpBackend backend(echo);
  Proxy proxy(TcpConfig{.primaries = {backend.port()}}.yaml());
  uint16_t port = proxy.port("edge");
  Fd client = connectLoopback(port);
  REQUIRE(client);
  std::string reply;
  REQUIRE(writeAll(client.get(), "a"));
  REQUIRE(readExactly(client.get(), reply, 1));  // the session is established

  proxy.process().signal(SIGTERM);
  REQUIRE(
      proxy.process().waitForText("stopped accepting; waiting up to 30s for 1 open connection(s)"));
  CHECK_FALSE(connectLoopback(port, 2s));  // the listening sockets are closed
  CHECK(writeAll(client.get(), "b"));      // the open one still works
  CHECK(readExactly(client.get(), reply, 1));
  CHECK(reply == "ab");
  CHECK(proxy.process().running());

  shutdown(client.get(), SHUT_WR);
  CHECK(closedByPeer(client.get()));
  CHECK(proxy.process().waitExit() == 0);
  CHECK(proxy.process().waitForText("every connection finished"));
}

TEST_CASE("drain_timeout closes connections still open and exits 0") {
  TcpBackend backend(echo);
  Proxy proxy(
      TcpConfig{.primaries = {backend.port()}, .drain_timeout = "300ms", .access_log = "stdout"}
          .yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  std::string reply;
  REQUIRE(writeAll(client.get(), "x"));
  REQUIRE(readExactly(client.get(), reply, 1));
  proxy.process().signal(SIGINT);
  CHECK(closedByPeer(client.get()));
  CHECK(proxy.process().waitExit() == 0);
  CHECK(proxy.process().waitForText("drain timeout reached: closing 1 open connection(s)"));
  auto logged = proxy.process().waitForText("\"outcome\":\"shutdown\"");
  REQUIRE(logged);
  CHECK(logged->find("\"bytes_in\":1,\"bytes_out\":1") != std::string::npos);
}

TEST_CASE("SIGHUP reloads the unchanged file and the proxy keeps serving") {
  TcpBackend backend(echo);
  Proxy proxy(TcpConfig{.primaries = {backend.port()}}.yaml());
  uint16_t port = proxy.port("edge");
  proxy.process().signal(SIGHUP);
  REQUIRE(proxy.process().waitForText("configuration reloaded: 1 listener(s), 1 upstream(s)"));
  Fd client = connectLoopback(port);
  REQUIRE(client);
  std::string reply;
  CHECK(writeAll(client.get(), "z"));
  CHECK(readExactly(client.get(), reply, 1));
  CHECK(proxy.process().running());
}
