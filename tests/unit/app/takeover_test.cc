// The takeover exchange (app/takeover.h) between a TakeoverServer on an
// event loop and a TakeoverClient: more sockets than one message carries,
// the same open sockets on both sides, and the "serving" that ends it.
#include "app/takeover.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/socket_address.h"
#include "net/listen_socket.h"
#include "support/loop.h"
#include "support/temp_dir.h"

using namespace fulcrum;

namespace {

ino_t inodeOf(int fd) {
  struct stat about {};
  REQUIRE(fstat(fd, &about) == 0);
  return about.st_ino;
}

}  // namespace

TEST_CASE("takeover hands over more sockets than one message carries, the same open sockets") {
  test::TempDir dir;
  const std::string path = dir.path() + "/takeover.sock";
  SocketAddress address;
  std::string why;
  REQUIRE(parseSocketAddress("127.0.0.1:0", address, why));
  // 250 sockets of one listener (a process with 250 workers), beyond the
  // kernel's 253 descriptors per message with the admin socket and batches
  // of 200.
  std::vector<net::ListenSocket> sockets;
  SocketAddress bound;
  REQUIRE_MESSAGE(net::bindListenSockets(address, 250, 16, sockets, bound, why), why);
  std::vector<net::ListenSocket> admin;
  SocketAddress admin_bound;
  REQUIRE(net::bindListenSockets(address, 1, 16, admin, admin_bound, why));

  net::EventLoop loop;
  std::atomic<pid_t> handed_to{0};
  app::TakeoverServer server(
      loop,
      [&] {
        std::vector<app::HandedSocket> out;
        for (const auto& socket : sockets)
          out.push_back(
              app::HandedSocket{false, "127.0.0.1:0", bound.toString(), "web edge", socket.fd()});
        out.push_back(
            app::HandedSocket{true, "127.0.0.1:0", admin_bound.toString(), "", admin[0].fd()});
        return out;
      },
      [&](pid_t pid) { handed_to = pid; });
  REQUIRE_MESSAGE(server.listen(path, why), why);
  struct stat file {};
  REQUIRE(stat(path.c_str(), &file) == 0);
  CHECK((file.st_mode & 0777) == 0600);
  std::thread serving([&] { test::runUntil(loop, [&] { return handed_to.load() != 0; }); });

  app::TakeoverClient client;
  const bool received = client.receive(path, why);
  CHECK_MESSAGE(received, why);
  if (received) {
    REQUIRE(client.sockets().size() == 251);
    for (size_t i = 0; i < 250; ++i) {
      const app::HandedSocket& got = client.sockets()[i];
      CHECK_FALSE(got.admin);
      CHECK(got.name == "web edge");
      CHECK(got.configured == "127.0.0.1:0");
      CHECK(got.bound == bound.toString());
      // Not a copy: the very socket, accept queue and all.
      CHECK(inodeOf(got.fd) == inodeOf(sockets[i].fd()));
    }
    CHECK(client.sockets()[250].admin);
    CHECK(inodeOf(client.sockets()[250].fd) == inodeOf(admin[0].fd()));
    net::ListenSocket taken = client.take(0);
    CHECK(taken.fd() >= 0);
    CHECK(client.sockets()[0].fd == -1);
    CHECK(client.confirmServing(why));
  }
  serving.join();
  CHECK(handed_to.load() == getpid());
}

TEST_CASE("takeover from a path nobody serves fails with the reason") {
  test::TempDir dir;
  app::TakeoverClient client;
  std::string why;
  CHECK_FALSE(client.receive(dir.path() + "/none.sock", why));
  CHECK(why.find("connect " + dir.path() + "/none.sock: No such file or directory") !=
        std::string::npos);
}
