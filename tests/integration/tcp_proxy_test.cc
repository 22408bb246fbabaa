// The TCP data path through the real binary: integrity, half-close,
// failover, backups, timeouts. Backends are threads of this test on
// 127.0.0.1, the proxy listens on a kernel-chosen port.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <future>
#include <thread>

#include "support/configs.h"
#include "support/net.h"
#include "support/proxy.h"

using namespace fulcrum::test;

namespace {

std::string readName(uint16_t port) {
  Fd client = connectLoopback(port);
  REQUIRE(client);
  std::string byte;
  while (readExactly(client.get(), byte, 1) && byte.back() != '\n') {
  }
  shutdown(client.get(), SHUT_WR);
  return byte;
}

}  // namespace

TEST_CASE("64 MiB each way arrive intact through the proxy") {
  constexpr size_t kSize = 64 * 1024 * 1024;
  const std::string upload = patternBytes(kSize, 1);
  const std::string download = patternBytes(kSize, 2);
  std::promise<bool> backend_ok;
  TcpBackend backend([&](int fd) {
    std::thread writer([&] {
      writeAll(fd, download);
      shutdown(fd, SHUT_WR);
    });
    std::string received;
    bool ok = readToEof(fd, received);
    writer.join();
    backend_ok.set_value(ok && received == upload);
  });
  Proxy proxy(TcpConfig{.primaries = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);

  std::thread writer([&] {
    writeAll(client.get(), upload);
    shutdown(client.get(), SHUT_WR);
  });
  std::string received;
  bool read_ok = readToEof(client.get(), received);
  writer.join();
  CHECK(read_ok);
  CHECK(received.size() == kSize);
  CHECK(received == download);
  auto verdict = backend_ok.get_future();
  REQUIRE(verdict.wait_for(kDeadline) == std::future_status::ready);
  CHECK(verdict.get());
}

TEST_CASE("a FIN from the client reaches the server, which can still answer") {
  TcpBackend backend([](int fd) {
    std::string request;
    if (!readToEof(fd, request)) return;  // waits for the client's FIN
    writeAll(fd, "got: " + request);
  });
  Proxy proxy(TcpConfig{.primaries = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  REQUIRE(writeAll(client.get(), "question"));
  shutdown(client.get(), SHUT_WR);
  std::string answer;
  CHECK(readToEof(client.get(), answer));
  CHECK(answer == "got: question");
}

TEST_CASE("a FIN from the server reaches the client, which can still send") {
  std::promise<std::string> late;
  TcpBackend backend([&](int fd) {
    writeAll(fd, "banner");
    shutdown(fd, SHUT_WR);
    std::string rest;
    readToEof(fd, rest);
    late.set_value(rest);
  });
  Proxy proxy(TcpConfig{.primaries = {backend.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  std::string banner;
  CHECK(readToEof(client.get(), banner));  // EOF arrives while our side is open
  CHECK(banner == "banner");
  REQUIRE(writeAll(client.get(), "after your FIN"));
  shutdown(client.get(), SHUT_WR);
  auto received = late.get_future();
  REQUIRE(received.wait_for(kDeadline) == std::future_status::ready);
  CHECK(received.get() == "after your FIN");
  CHECK(closedByPeer(client.get()));
}

TEST_CASE("a server that refuses connections is skipped") {
  uint16_t refused_port = 0;
  Fd refused = refusingPort(refused_port);
  TcpBackend good(sayName("good"));
  Proxy proxy(TcpConfig{.primaries = {refused_port, good.port()}, .workers = 1}.yaml());
  uint16_t port = proxy.port("edge");
  for (int i = 0; i < 6; ++i) CHECK(readName(port) == "good\n");
  CHECK(good.accepted() == 6);
}

TEST_CASE("round robin spreads connections over every server") {
  TcpBackend a(sayName("a"));
  TcpBackend b(sayName("b"));
  TcpBackend c(sayName("c"));
  Proxy proxy(TcpConfig{.primaries = {a.port(), b.port(), c.port()}, .workers = 1}.yaml());
  uint16_t port = proxy.port("edge");
  std::string sequence;
  for (int i = 0; i < 9; ++i) sequence += readName(port).substr(0, 1);
  CHECK(a.accepted() == 3);
  CHECK(b.accepted() == 3);
  CHECK(c.accepted() == 3);
  // Strict rotation: each window of three holds each server once.
  for (size_t i = 0; i + 3 <= sequence.size(); ++i) {
    std::string window = sequence.substr(i, 3);
    CHECK(window.find('a') != std::string::npos);
    CHECK(window.find('b') != std::string::npos);
    CHECK(window.find('c') != std::string::npos);
  }
}

TEST_CASE("when every server is down the client is closed and the log says why") {
  uint16_t first = 0;
  uint16_t second = 0;
  Fd refused_first = refusingPort(first);
  Fd refused_second = refusingPort(second);
  Proxy proxy(TcpConfig{.primaries = {first, second}}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  CHECK(closedByPeer(client.get()));
  auto line = proxy.process().waitForText("no server of upstream pool could be reached");
  REQUIRE(line);
  CHECK(line->find("127.0.0.1:" + std::to_string(first) + ": Connection refused") !=
        std::string::npos);
  CHECK(line->find("127.0.0.1:" + std::to_string(second) + ": Connection refused") !=
        std::string::npos);
  CHECK(proxy.process().running());
}

TEST_CASE("backups get connections only when every primary failed") {
  TcpBackend primary_a(sayName("primary"));
  TcpBackend primary_b(sayName("primary"));
  TcpBackend backup(sayName("backup"));
  {
    Proxy proxy(
        TcpConfig{.primaries = {primary_a.port(), primary_b.port()}, .backups = {backup.port()}}
            .yaml());
    uint16_t port = proxy.port("edge");
    for (int i = 0; i < 6; ++i) CHECK(readName(port) == "primary\n");
    CHECK(backup.accepted() == 0);
  }
  uint16_t down = 0;
  Fd refused = refusingPort(down);
  Proxy proxy(TcpConfig{.primaries = {down}, .backups = {backup.port()}}.yaml());
  CHECK(readName(proxy.port("edge")) == "backup\n");
  CHECK(backup.accepted() == 1);
}

TEST_CASE("a server that does not answer the handshake is abandoned after the connect timeout") {
  // A listener with a full accept queue drops SYNs, so connecting hangs.
  uint16_t black_hole = 0;
  Fd hole = listenLoopback(black_hole, 0);
  std::vector<Fd> fillers;
  for (int i = 0; i < 4; ++i) fillers.push_back(connectLoopback(black_hole, 200ms));
  TcpBackend good(sayName("good"));
  Proxy proxy(
      TcpConfig{.primaries = {black_hole, good.port()}, .workers = 1, .connect_timeout = "300ms"}
          .yaml());
  uint16_t port = proxy.port("edge");
  // Round robin meets the black hole first on one of two connections.
  CHECK(readName(port) == "good\n");
  CHECK(readName(port) == "good\n");
  auto line = proxy.process().waitForText("connect timed out after 300ms");
  CHECK(line.has_value());
}

TEST_CASE("a connection with no traffic is closed after the idle timeout") {
  TcpBackend backend([](int fd) {
    std::string ignored;
    readToEof(fd, ignored);
  });
  Proxy proxy(TcpConfig{.primaries = {backend.port()}, .idle_timeout = "300ms"}.yaml());
  Fd client = connectLoopback(proxy.port("edge"));
  REQUIRE(client);
  CHECK(closedByPeer(client.get()));
}

TEST_CASE("the access log has one JSON line per connection") {
  TcpBackend backend(sayName("b1"));
  Proxy proxy(TcpConfig{.primaries = {backend.port()}, .access_log = "stdout"}.yaml());
  CHECK(readName(proxy.port("edge")) == "b1\n");
  auto line = proxy.process().waitForText("\"type\":\"tcp\"");
  REQUIRE(line);
  CHECK(line->find("\"listener\":\"edge\"") != std::string::npos);
  CHECK(line->find("\"server\":\"127.0.0.1:" + std::to_string(backend.port()) + "\"") !=
        std::string::npos);
  CHECK(line->find("\"bytes_out\":3") != std::string::npos);
  CHECK(line->find("\"outcome\":\"closed\"") != std::string::npos);
}
