#include "upstream/conn_pool.h"

#include <event2/event.h>
#include <sys/socket.h>

#include <cerrno>

namespace fulcrum::upstream {
namespace {

// A server may have closed an idle connection in the moment before we take
// it: peek (no data consumed) to see whether the socket has reached EOF.
bool stillOpen(bufferevent* bev) {
  char byte;
  ssize_t n = recv(bufferevent_getfd(bev), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

ConnPool::ConnPool(size_t server_count, unsigned max_idle, std::chrono::milliseconds idle_timeout)
    : max_idle_(max_idle), idle_(server_count) {
  idle_timeout_.tv_sec = static_cast<time_t>(idle_timeout.count() / 1000);
  idle_timeout_.tv_usec = static_cast<suseconds_t>((idle_timeout.count() % 1000) * 1000);
}

ConnPool::~ConnPool() {
  for (auto& server : idle_)
    for (auto& idle : server) bufferevent_free(idle.bev);
}

bufferevent* ConnPool::take(uint32_t index) {
  auto& list = idle_[index];
  while (!list.empty()) {
    bufferevent* bev = list.front().bev;
    list.pop_front();
    bufferevent_setcb(bev, nullptr, nullptr, nullptr, nullptr);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    bufferevent_set_timeouts(bev, nullptr, nullptr);
    if (stillOpen(bev)) return bev;
    bufferevent_free(bev);
  }
  return nullptr;
}

void ConnPool::give(uint32_t index, bufferevent* connection) {
  auto& list = idle_[index];
  if (list.size() >= max_idle_) {
    bufferevent_free(connection);
    return;
  }
  list.push_front(Idle{this, index, connection});
  Idle* idle = &list.front();
  // Read events while idle mean the server closed it or broke protocol; the
  // read timeout is the idle timeout.
  bufferevent_setcb(connection, &ConnPool::onIdleRead, nullptr, &ConnPool::onIdleEvent, idle);
  bufferevent_set_timeouts(connection, &idle_timeout_, nullptr);
  bufferevent_enable(connection, EV_READ);
}

void ConnPool::onIdleRead(bufferevent*, void* arg) {
  auto* idle = static_cast<Idle*>(arg);
  idle->pool->drop(idle);
}

void ConnPool::onIdleEvent(bufferevent*, short, void* arg) {
  auto* idle = static_cast<Idle*>(arg);
  idle->pool->drop(idle);
}

void ConnPool::drop(Idle* idle) {
  // libevent allows freeing a bufferevent from inside its own callback.
  bufferevent_free(idle->bev);
  auto& list = idle_[idle->server];
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (&*it == idle) {
      list.erase(it);
      return;
    }
  }
}

}  // namespace fulcrum::upstream
