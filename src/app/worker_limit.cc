// The Worker's side of global.max_connections (net/connection_limit.h):
// pausing and resuming its listeners as the whole process reaches the limit
// or gets room again, and counting the connections that waited for it.
#include "app/worker.h"

namespace fulcrum::app {

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
    for (auto& acceptor : listener->acceptors) acceptor->pause();
  }
}

void Worker::resumeAccepting() {
  if (!limit_paused_) return;
  limit_paused_ = false;
  for (auto& listener : listeners_) {
    // Those already waiting are the ones the limit held back; the backlog
    // is first in, first out, so they are the next ones accepted.
    listener->waiting = 0;
    for (auto& acceptor : listener->acceptors) listener->waiting += acceptor->backlog();
    // A listener paused after an accept error resumes when that pause ends.
    for (auto& acceptor : listener->acceptors) acceptor->resume();
  }
}

}  // namespace fulcrum::app
