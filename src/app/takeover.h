// Handing the listening sockets from a running process to a new one
// (`fulcrum --takeover PATH`, man fulcrum(8)), over the Unix socket named
// by global.takeover_socket:
//   new -> old  "takeover <pid>"
//   old -> new  "sockets" messages, each with up to kMaxFdsPerMessage
//               descriptors and one line per descriptor:
//               "listener <configured> <bound> <name>" or
//               "admin <configured> <bound>"
//   old -> new  "end <count>"
//   new -> old  "serving <pid>": the new process holds the sockets and its
//               workers accept on them; the old one drains and exits.
// The sockets are the same open sockets, accept queues included: not one
// connection waiting in a queue is lost, which binding new SO_REUSEPORT
// sockets cannot promise (README, "Upgrading the binary").
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/listen_socket.h"

namespace fulcrum::app {

// One listening socket as the running process describes it.
struct HandedSocket {
  bool admin = false;      // the admin listener; else a proxy listener
  std::string configured;  // the address as configured (port 0 stays 0)
  std::string bound;       // the address bound
  std::string name;        // the listener's name; empty for admin
  int fd = -1;             // sender: borrowed; receiver: see TakeoverClient
};

// The new process's side; blocking, on the main thread before anything
// runs. Descriptors received are owned by the client until taken.
class TakeoverClient {
 public:
  TakeoverClient() = default;
  ~TakeoverClient();
  TakeoverClient(const TakeoverClient&) = delete;
  TakeoverClient& operator=(const TakeoverClient&) = delete;

  // Asks the process serving `path` for its sockets. False with the
  // reason, the running process untouched.
  bool receive(const std::string& path, std::string& why);
  const std::vector<HandedSocket>& sockets() const { return sockets_; }
  // Takes the socket at `index` (its fd in sockets() becomes -1).
  net::ListenSocket take(size_t index);
  // Tells the old process we serve: it drains and exits. Closes the link.
  bool confirmServing(std::string& why);

 private:
  int link_ = -1;
  std::vector<HandedSocket> sockets_;
};

// The running process's side, on the control loop.
class TakeoverServer {
 public:
  // The sockets to hand over now; their fds stay open during the call.
  using Collect = std::function<std::vector<HandedSocket>()>;
  // The new process `pid` serves on every socket handed over.
  using HandedOver = std::function<void(pid_t pid)>;

  // Both callbacks run on `loop`'s thread from its events and may destroy
  // the server; the loop outlives it.
  TakeoverServer(net::EventLoop& loop, Collect collect, HandedOver handed_over);
  // Closes the sockets; removes the path unless another process bound it.
  ~TakeoverServer();
  TakeoverServer(const TakeoverServer&) = delete;
  TakeoverServer& operator=(const TakeoverServer&) = delete;

  bool listen(const std::string& path, std::string& why);

 private:
  static void onAccept(evutil_socket_t, short, void* self);
  static void onMessage(evutil_socket_t, short, void* self);
  void closePeer();
  void handle(const std::string& text);
  bool sendSockets(std::string& why);

  net::EventLoop& loop_;
  Collect collect_;
  HandedOver handed_over_;
  std::string path_;
  ino_t inode_ = 0;
  int listen_fd_ = -1;
  event* accept_event_ = nullptr;
  int peer_fd_ = -1;
  event* peer_event_ = nullptr;
  pid_t peer_pid_ = 0;
  bool sent_ = false;
};

}  // namespace fulcrum::app
