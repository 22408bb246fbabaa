#include "app/parked_connections.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace fulcrum::app {
namespace {

void unlink(ParkedLink& link) {
  link.prev->next = link.next;
  link.next->prev = link.prev;
  link.prev = &link;
  link.next = &link;
}

void append(ParkedLink& head, ParkedLink& link) {
  link.prev = head.prev;
  link.next = &head;
  head.prev->next = &link;
  head.prev = &link;
}

}  // namespace

void CompactAddress::store(const SocketAddress& address) {
  length = static_cast<uint8_t>(address.length());
  std::memcpy(bytes, address.sockaddr_ptr(), length);
}

SocketAddress CompactAddress::load() const {
  if (length == 0) return SocketAddress();
  return SocketAddress(reinterpret_cast<const sockaddr*>(bytes), length);
}

std::optional<net::ClientAddresses> ParkedConnection::resumedAddresses() const {
  if (addresses != nullptr) {
    const SocketAddress client = addresses->client.load();
    return net::ClientAddresses{client, client, addresses->local.load()};
  }
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return std::nullopt;
  const SocketAddress client(reinterpret_cast<const sockaddr*>(&peer), length);
  return net::ClientAddresses{client, client, SocketAddress()};
}

ParkedConnections::ParkedConnections(net::EventLoop& loop, Resume resume, Expired expired)
    : loop_(loop),
      resume_(std::move(resume)),
      expired_(std::move(expired)),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) std::abort();
  ready_ = event_new(
      loop_.base(), epoll_fd_, EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* self) { static_cast<ParkedConnections*>(self)->onReady(); },
      this);
  if (ready_ == nullptr || event_add(ready_, nullptr) != 0) std::abort();
}

ParkedConnections::~ParkedConnections() {
  closeAll();
  event_free(ready_);
  ::close(epoll_fd_);
}

void ParkedConnections::add(std::unique_ptr<ParkedConnection> connection,
                            std::chrono::milliseconds idle_timeout) {
  Queue* queue = nullptr;
  for (auto& candidate : queues_)
    if (candidate->timeout == idle_timeout) queue = candidate.get();
  if (queue == nullptr) {
    queues_.push_back(std::make_unique<Queue>(*this, idle_timeout));
    queue = queues_.back().get();
  }
  ParkedConnection* raw = connection.release();
  epoll_event watch{};
  watch.events = EPOLLIN;
  watch.data.ptr = raw;
  // Fails only for a descriptor that is not a socket we own, or when the
  // kernel is out of memory for the watch; then the connection is not
  // waited on and goes with its idle timeout, like a silent client.
  (void)epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, raw->fd, &watch);
  append(queue->head, *raw);
  ++size_;
  if (!queue->timer.armed()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        raw->deadline - std::chrono::steady_clock::now());
    queue->timer.arm(std::max(left, std::chrono::milliseconds(0)));
  }
}

std::unique_ptr<ParkedConnection> ParkedConnections::take(ParkedConnection& connection) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
  unlink(connection);
  --size_;
  return std::unique_ptr<ParkedConnection>(&connection);
}

void ParkedConnections::onReady() {
  // A bounded batch per loop turn: the set is level-triggered, so what is
  // left makes the descriptor readable again on the next turn.
  epoll_event ready[64];
  const int count = epoll_wait(epoll_fd_, ready, 64, 0);
  batch_cut_ = false;
  for (int i = 0; i < count && !batch_cut_; ++i)
    resume_(take(*static_cast<ParkedConnection*>(ready[i].data.ptr)));
}

void ParkedConnections::expire(Queue& queue) {
  const auto now = std::chrono::steady_clock::now();
  while (queue.head.next != &queue.head) {
    auto* oldest = static_cast<ParkedConnection*>(queue.head.next);
    if (oldest->deadline > now) {
      queue.timer.arm(std::chrono::ceil<std::chrono::milliseconds>(oldest->deadline - now));
      return;
    }
    std::unique_ptr<ParkedConnection> connection = take(*oldest);
    ::close(connection->fd);
    expired_(*connection);
  }
}

std::vector<std::unique_ptr<ParkedConnection>> ParkedConnections::takeAll() {
  std::vector<std::unique_ptr<ParkedConnection>> all;
  all.reserve(size_);
  batch_cut_ = true;
  for (auto& queue : queues_) {
    queue->timer.cancel();
    while (queue->head.next != &queue->head)
      all.push_back(take(*static_cast<ParkedConnection*>(queue->head.next)));
  }
  return all;
}

size_t ParkedConnections::closeAll() {
  std::vector<std::unique_ptr<ParkedConnection>> all = takeAll();
  for (auto& connection : all) ::close(connection->fd);
  return all.size();
}

}  // namespace fulcrum::app
