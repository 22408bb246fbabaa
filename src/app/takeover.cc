#include "app/takeover.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/log.h"
#include "net/fd_passing.h"

namespace fulcrum::app {
namespace {

// Bounds a stuck peer: the running process never waits on it, the new one
// gives up on the takeover.
constexpr std::chrono::milliseconds kLinkTimeout{10000};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// "listener <configured> <bound> <name>" or "admin <configured> <bound>".
bool parseLine(const std::string& line, HandedSocket& out) {
  std::vector<std::string> words = split(line, ' ');
  if (words.size() < 3) return false;
  out.admin = words[0] == "admin";
  if (!out.admin && (words[0] != "listener" || words.size() < 4)) return false;
  out.configured = words[1];
  out.bound = words[2];
  if (!out.admin) out.name = line.substr(words[0].size() + words[1].size() + words[2].size() + 3);
  return true;
}

}  // namespace

TakeoverClient::~TakeoverClient() {
  for (const HandedSocket& socket : sockets_)
    if (socket.fd >= 0) ::close(socket.fd);
  if (link_ >= 0) ::close(link_);
}

bool TakeoverClient::receive(const std::string& path, std::string& why) {
  link_ = net::connectUnixPacket(path, kLinkTimeout, why);
  if (link_ < 0) return false;
  if (!net::sendWithFds(link_, "takeover " + std::to_string(::getpid()), {}, why)) return false;
  for (;;) {
    std::string text;
    std::vector<int> fds;
    const bool received = net::receiveWithFds(link_, text, fds, why);
    std::vector<std::string> lines = split(text, '\n');
    // Every descriptor that came is recorded first, so the destructor
    // closes it whatever goes wrong below.
    size_t first = sockets_.size();
    for (int fd : fds) sockets_.push_back(HandedSocket{false, "", "", "", fd});
    if (!received) return false;
    if (lines.empty()) {
      why = "an empty message";
      return false;
    }
    if (lines[0].rfind("end ", 0) == 0) {
      if (lines[0] != "end " + std::to_string(sockets_.size())) {
        why = "the running process sent " + lines[0] + ", " + std::to_string(sockets_.size()) +
              " socket(s) arrived";
        return false;
      }
      return true;
    }
    if (lines[0] != "sockets" || lines.size() != fds.size() + 1) {
      why = "an unexpected message '" + lines[0] + "' with " + std::to_string(fds.size()) +
            " descriptor(s)";
      return false;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      HandedSocket& socket = sockets_[first + i];
      if (!parseLine(lines[i + 1], socket)) {
        why = "an unreadable socket line '" + lines[i + 1] + "'";
        return false;
      }
    }
  }
}

net::ListenSocket TakeoverClient::take(size_t index) {
  int fd = sockets_[index].fd;
  sockets_[index].fd = -1;
  return net::ListenSocket(fd);
}

bool TakeoverClient::confirmServing(std::string& why) {
  const bool sent = net::sendWithFds(link_, "serving " + std::to_string(::getpid()), {}, why);
  ::close(link_);
  link_ = -1;
  return sent;
}

TakeoverServer::TakeoverServer(net::EventLoop& loop, Collect collect, HandedOver handed_over)
    : loop_(loop), collect_(std::move(collect)), handed_over_(std::move(handed_over)) {}

TakeoverServer::~TakeoverServer() {
  closePeer();
  if (accept_event_ != nullptr) event_free(accept_event_);
  if (listen_fd_ < 0) return;
  ::close(listen_fd_);
  // A new process binds the path again once it serves: that file is its.
  struct stat now {};
  if (::stat(path_.c_str(), &now) == 0 && now.st_ino == inode_) ::unlink(path_.c_str());
}

bool TakeoverServer::listen(const std::string& path, std::string& why) {
  listen_fd_ = net::listenUnixPacket(path, why);
  if (listen_fd_ < 0) return false;
  path_ = path;
  struct stat bound {};
  if (::stat(path.c_str(), &bound) == 0) inode_ = bound.st_ino;
  accept_event_ =
      event_new(loop_.base(), listen_fd_, EV_READ | EV_PERSIST, &TakeoverServer::onAccept, this);
  event_add(accept_event_, nullptr);
  return true;
}

void TakeoverServer::closePeer() {
  if (peer_event_ != nullptr) event_free(peer_event_);
  peer_event_ = nullptr;
  if (peer_fd_ >= 0) ::close(peer_fd_);
  peer_fd_ = -1;
  peer_pid_ = 0;
  sent_ = false;
}

void TakeoverServer::onAccept(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TakeoverServer*>(arg);
  int fd = ::accept4(self->listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  // One takeover at a time; a newer one wins over one that got stuck.
  if (self->peer_fd_ >= 0) log::warn("takeover: a new request replaces the unfinished one");
  self->closePeer();
  self->peer_fd_ = fd;
  // Sends block at most kLinkTimeout: a few small messages.
  timeval limit{kLinkTimeout.count() / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  self->peer_event_ =
      event_new(self->loop_.base(), fd, EV_READ | EV_PERSIST, &TakeoverServer::onMessage, self);
  event_add(self->peer_event_, nullptr);
}

void TakeoverServer::onMessage(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<TakeoverServer*>(arg);
  std::string text;
  std::vector<int> fds;
  std::string why;
  const bool received = net::receiveWithFds(self->peer_fd_, text, fds, why);
  for (int fd : fds) ::close(fd);  // never expected from the new process
  if (!received) {
    if (self->sent_)
      log::warn("takeover by pid %d failed (%s): still serving", self->peer_pid_, why.c_str());
    self->closePeer();
    return;
  }
  self->handle(text);  // may destroy `self`
}

void TakeoverServer::handle(const std::string& text) {
  std::vector<std::string> words = split(text, ' ');
  const pid_t pid = words.size() == 2 ? static_cast<pid_t>(std::atoi(words[1].c_str())) : 0;
  if (!sent_ && words.size() == 2 && words[0] == "takeover") {
    peer_pid_ = pid;
    std::string why;
    if (!sendSockets(why)) {
      log::warn("takeover by pid %d: cannot send the sockets (%s): still serving", pid,
                why.c_str());
      closePeer();
      return;
    }
    sent_ = true;
    log::info("takeover: listening sockets sent to pid %d", pid);
    return;
  }
  if (sent_ && words.size() == 2 && words[0] == "serving") {
    closePeer();
    handed_over_(pid);  // may destroy this
    return;
  }
  log::warn("takeover: unexpected message '%s': ignored", text.substr(0, 64).c_str());
  closePeer();
}

bool TakeoverServer::sendSockets(std::string& why) {
  const std::vector<HandedSocket> sockets = collect_();
  for (size_t start = 0; start < sockets.size(); start += net::kMaxFdsPerMessage) {
    std::string text = "sockets";
    std::vector<int> fds;
    for (size_t i = start; i < sockets.size() && fds.size() < net::kMaxFdsPerMessage; ++i) {
      const HandedSocket& socket = sockets[i];
      text += socket.admin ? "\nadmin " : "\nlistener ";
      text += socket.configured + " " + socket.bound;
      if (!socket.admin) text += " " + socket.name;
      fds.push_back(socket.fd);
    }
    if (!net::sendWithFds(peer_fd_, text, fds, why)) return false;
  }
  return net::sendWithFds(peer_fd_, "end " + std::to_string(sockets.size()), {}, why);
}

}  // namespace fulcrum::app
