// The Worker's side of global.max_connections (net/connection_limit.h):
// pausing and resuming its listeners as the whole process reaches the limit
// or gets room again, and counting the connections that waited for it.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "app/worker.h"

namespace fulcrum::app {
namespace {

// Completed connections waiting in a listening socket's accept queue (for
// a listening socket Linux reports the queue length as tcpi_unacked).
uint64_t backlogLength(int fd) {
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
  return info.tcpi_unacked;
}

}  // namespace

void Worker::limitChanged() {
  loop_->post([this] { applyLimit(); });
}

void Worker::applyLimit() {
  // Notices may queue up; the state they point to is read now.
  if (limit_ == nullptr || draining_) return;
  if (limit_->full())
    pauseAccepting();
  else
    resumeAccepting();
}

void Worker::pauseAccepting() {
  if (limit_paused_) return;
  limit_paused_ = true;
  for (auto& listener : listeners_) {
    listener->waiting = 0;  // counted when accepting resumes, if still there
    if (listener->handle != nullptr) evconnlistener_disable(listener->handle);
  }
}

void Worker::resumeAccepting() {
  if (!limit_paused_) return;
  limit_paused_ = false;
  for (auto& listener : listeners_) {
    if (listener->handle == nullptr) continue;
    // Those already waiting are the ones the limit held back; the backlog
    // is first in, first out, so they are the next ones accepted.
    listener->waiting = backlogLength(evconnlistener_get_fd(listener->handle));
    // A listener paused after an accept error resumes with its own timer.
    if (!listener->resume_timer->armed()) evconnlistener_enable(listener->handle);
  }
}

}  // namespace fulcrum::app
