#include "app/parked_connections.h"

#include <unistd.h>

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

ParkedConnections::ParkedConnections(net::EventLoop& loop, Resume resume, Expired expired)
    : loop_(loop), resume_(std::move(resume)), expired_(std::move(expired)) {}

ParkedConnections::~ParkedConnections() {
  closeAll();
}

void ParkedConnections::add(std::unique_ptr<ParkedConnection> connection, int fd,
                            std::chrono::milliseconds idle_timeout) {
  Queue* queue = nullptr;
  for (auto& candidate : queues_)
    if (candidate->timeout == idle_timeout) queue = candidate.get();
  if (queue == nullptr) {
    queues_.push_back(std::make_unique<Queue>(*this, idle_timeout));
    queue = queues_.back().get();
  }
  ParkedConnection* raw = connection.release();
  raw->owner = this;
  event_assign(&raw->read_event, loop_.base(), fd, EV_READ, &ParkedConnections::onReadable, raw);
  event_add(&raw->read_event, nullptr);
  append(queue->head, *raw);
  ++size_;
  if (!queue->timer.armed()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        raw->deadline - std::chrono::steady_clock::now());
    queue->timer.arm(std::max(left, std::chrono::milliseconds(0)));
  }
}

std::unique_ptr<ParkedConnection> ParkedConnections::take(ParkedConnection& connection) {
  event_del(&connection.read_event);
  unlink(connection);
  --size_;
  return std::unique_ptr<ParkedConnection>(&connection);
}

void ParkedConnections::onReadable(evutil_socket_t, short, void* self) {
  auto* connection = static_cast<ParkedConnection*>(self);
  ParkedConnections& owner = *connection->owner;
  owner.resume_(owner.take(*connection));
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
    ::close(connection->fd());
    expired_(*connection);
  }
}

std::vector<std::unique_ptr<ParkedConnection>> ParkedConnections::takeAll() {
  std::vector<std::unique_ptr<ParkedConnection>> all;
  all.reserve(size_);
  for (auto& queue : queues_) {
    queue->timer.cancel();
    while (queue->head.next != &queue->head)
      all.push_back(take(*static_cast<ParkedConnection*>(queue->head.next)));
  }
  return all;
}

size_t ParkedConnections::closeAll() {
  std::vector<std::unique_ptr<ParkedConnection>> all = takeAll();
  for (auto& connection : all) ::close(connection->fd());
  return all.size();
}

}  // namespace fulcrum::app
