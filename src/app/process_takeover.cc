// The Process's side of a takeover (process.h, app/takeover.h): taking the
// sockets of the process being replaced at startup, and handing ours to
// the process replacing us.
#include <fcntl.h>
#include <sys/socket.h>

#include "app/process.h"
#include "core/log.h"

namespace fulcrum::app {
namespace {

SocketAddress localAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

}  // namespace

bool Process::receiveSockets() {
  takeover_client_ = std::make_unique<TakeoverClient>();
  std::string why;
  if (!takeover_client_->receive(takeover_from_, why)) {
    log::error("takeover from %s failed: %s; the running process keeps serving",
               takeover_from_.c_str(), why.c_str());
    return false;
  }
  log::info("takeover: received %zu listening socket(s) over %s",
            takeover_client_->sockets().size(), takeover_from_.c_str());
  return true;
}

void Process::deferAccepts(const ListenerRuntime& listener,
                           const std::vector<net::ListenSocket>& sockets) {
  for (const auto& socket : sockets) applyDeferAccept(listener, socket.fd());
}

bool Process::listenerSockets(const ListenerRuntime& listener, std::vector<net::ListenSocket>& out,
                              SocketAddress& bound, std::string& why) {
  bound = listener.address;
  if (takeover_client_) {
    // The same listener as reload matches it (counter_carry.h): same
    // configured address, and the same name where that address is port 0.
    const std::string configured = listener.address.toString();
    const auto& handed = takeover_client_->sockets();
    for (size_t k = 0; k < handed.size(); ++k) {
      if (handed[k].admin || handed[k].fd < 0 || handed[k].configured != configured) continue;
      if (listener.address.port() == 0 && handed[k].name != listener.name) continue;
      out.push_back(takeover_client_->take(k));
      bound = localAddress(out.back().fd());
    }
    if (!out.empty())
      log::info("listener %s: %zu socket(s) taken over", listener.name.c_str(), out.size());
  }
  // Each worker needs one; every socket taken over is kept even when there
  // are more than workers (closing one resets the connections it queued).
  if (out.size() >= worker_count_) {
    deferAccepts(listener, out);
    return true;
  }
  std::vector<net::ListenSocket> fresh;
  SocketAddress fresh_bound;
  if (!net::bindListenSockets(bound, worker_count_ - static_cast<unsigned>(out.size()),
                              listener.backlog, fresh, fresh_bound, why))
    return false;
  if (out.empty()) bound = fresh_bound;
  for (auto& socket : fresh) out.push_back(std::move(socket));
  deferAccepts(listener, out);
  return true;
}

int Process::takeAdminSocket(const config::AdminConfig& admin) {
  if (!takeover_client_) return -1;
  const auto& handed = takeover_client_->sockets();
  for (size_t k = 0; k < handed.size(); ++k)
    if (handed[k].admin && handed[k].fd >= 0 && handed[k].configured == admin.listen.toString())
      return takeover_client_->take(k).release();
  return -1;
}

void Process::closeUnclaimed() {
  if (!takeover_client_) return;
  for (const HandedSocket& socket : takeover_client_->sockets())
    if (socket.fd >= 0)
      log::warn(
          "takeover: %s %s on %s is not in this configuration: closing it (connections "
          "waiting on it are reset)",
          socket.admin ? "admin listener" : "listener", socket.name.c_str(), socket.bound.c_str());
  // The client closes the ones left at confirmTakeover().
}

void Process::confirmTakeover() {
  std::string why;
  if (takeover_client_->confirmServing(why))
    log::info("takeover: serving; the previous process drains and exits");
  else
    log::error(
        "takeover: cannot tell the previous process that we serve (%s): it keeps serving "
        "too; stop it with SIGTERM",
        why.c_str());
  takeover_client_.reset();
}

void Process::startTakeoverServer() {
  takeover_server_.reset();
  takeover_path_ = runtime_->config().global.takeover_socket;
  if (takeover_path_.empty()) {
    // Said where it matters: an upgrade that ends the chain of hand-overs.
    if (takeover_client_)
      log::warn("global.takeover_socket is not set: this process cannot be taken over");
    return;
  }
  auto server = std::make_unique<TakeoverServer>(
      loop_, [this] { return handedSockets(); }, [this](pid_t pid) { handedOver(pid); });
  std::string why;
  if (!server->listen(takeover_path_, why)) {
    log::error("takeover socket: cannot listen: %s; this process cannot be taken over",
               why.c_str());
    return;
  }
  log::info("takeover socket listening on %s", takeover_path_.c_str());
  takeover_server_ = std::move(server);
}

std::vector<HandedSocket> Process::handedSockets() const {
  std::vector<HandedSocket> out;
  const auto& listeners = runtime_->listeners();
  for (size_t i = 0; i < listeners.size() && i < held_sockets_.size(); ++i)
    for (const auto& socket : held_sockets_[i])
      out.push_back(HandedSocket{false, listeners[i].address.toString(), listener_addresses_[i],
                                 listeners[i].name, socket.fd()});
  if (admin_server_ && admin_server_->listeningFd() >= 0)
    out.push_back(HandedSocket{true, runtime_->config().global.admin.listen.toString(),
                               admin_server_->bound().toString(), "",
                               admin_server_->listeningFd()});
  return out;
}

void Process::handedOver(pid_t pid) {
  if (draining_) return;
  log::info("taken over by pid %d: draining", static_cast<int>(pid));
  // The new process accepts on the same sockets: ours close, and nothing
  // waiting in their queues is lost. Open admin connections are answered.
  admin_server_->stopListening();
  // No drain_grace: the new process already accepts on these very
  // sockets, so there is no traffic to move first.
  beginDrain(/*with_grace=*/false);
}

}  // namespace fulcrum::app
