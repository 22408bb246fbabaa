#include "net/byte_pump.h"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/errno_text.h"

namespace fulcrum::net {

BytePump::BytePump(EventLoop& loop, bufferevent* side0, bufferevent* side1, size_t max_buffered,
                   std::chrono::milliseconds idle_timeout, DoneCallback done)
    : max_buffered_(max_buffered),
      idle_timeout_(idle_timeout),
      idle_timer_(loop, [this] { checkIdle(); }),
      done_(std::move(done)) {
  bufferevent* bevs[2] = {side0, side1};
  for (int i = 0; i < 2; ++i) {
    sides_[i].pump = this;
    sides_[i].index = i;
    sides_[i].bev = bevs[i];
  }
}

BytePump::~BytePump() {
  for (auto& side : sides_)
    if (side.bev != nullptr) bufferevent_free(side.bev);
}

void BytePump::start() {
  last_activity_ = std::chrono::steady_clock::now();
  for (auto& side : sides_) {
    bufferevent_setcb(side.bev, &BytePump::onRead, &BytePump::onWrite, &BytePump::onEvent, &side);
    // onWrite fires when pending output falls to half the cap: the moment
    // to resume reading the other side.
    bufferevent_setwatermark(side.bev, EV_WRITE, max_buffered_ / 2, 0);
    bufferevent_enable(side.bev, EV_READ | EV_WRITE);
  }
  idle_timer_.arm(idle_timeout_);
  // Bytes may already wait in an input buffer (read before the pump began).
  for (auto& side : sides_)
    if (evbuffer_get_length(bufferevent_get_input(side.bev)) > 0) moveInput(side);
}

void BytePump::moveInput(Side& from) {
  Side& to = sides_[1 - from.index];
  evbuffer* input = bufferevent_get_input(from.bev);
  evbuffer* output = bufferevent_get_output(to.bev);
  size_t length = evbuffer_get_length(input);
  if (length == 0) return;
  from.bytes_read += length;
  last_activity_ = std::chrono::steady_clock::now();
  evbuffer_add_buffer(output, input);  // moves chains, no copy
  if (evbuffer_get_length(output) >= max_buffered_ && !from.read_closed) {
    from.read_paused = true;
    bufferevent_disable(from.bev, EV_READ);
  }
}

void BytePump::sendFinIfDrained(Side& to) {
  if (to.write_closed || evbuffer_get_length(bufferevent_get_output(to.bev)) > 0) return;
  to.write_closed = true;
  ::shutdown(bufferevent_getfd(to.bev), SHUT_WR);
  Side& from = sides_[1 - to.index];
  if (from.read_closed && to.read_closed && from.write_closed)
    finish(Result{End::Completed, -1, {}});
}

void BytePump::onRead(bufferevent*, void* arg) {
  auto* side = static_cast<Side*>(arg);
  side->pump->moveInput(*side);
}

void BytePump::onWrite(bufferevent*, void* arg) {
  auto* to = static_cast<Side*>(arg);
  BytePump* pump = to->pump;
  Side& from = pump->sides_[1 - to->index];
  pump->last_activity_ = std::chrono::steady_clock::now();
  if (from.read_paused) {
    from.read_paused = false;
    bufferevent_enable(from.bev, EV_READ);
  }
  if (from.read_closed) pump->sendFinIfDrained(*to);
}

void BytePump::onEvent(bufferevent*, short what, void* arg) {
  auto* side = static_cast<Side*>(arg);
  BytePump* pump = side->pump;
  if (what & BEV_EVENT_ERROR) {
    int error = EVUTIL_SOCKET_ERROR();
    pump->finish(Result{End::Error, side->index, error != 0 ? errnoText(error) : "socket error"});
    return;
  }
  if ((what & BEV_EVENT_EOF) && !side->read_closed) {
    side->read_closed = true;
    pump->moveInput(*side);
    Side& to = pump->sides_[1 - side->index];
    // Fire onWrite only when everything before the FIN is out.
    bufferevent_setwatermark(to.bev, EV_WRITE, 0, 0);
    pump->sendFinIfDrained(to);
  }
}

void BytePump::checkIdle() {
  auto idle_for = std::chrono::steady_clock::now() - last_activity_;
  if (idle_for >= idle_timeout_) {
    finish(Result{End::IdleTimeout, -1, {}});
    return;
  }
  idle_timer_.arm(std::chrono::ceil<std::chrono::milliseconds>(idle_timeout_ - idle_for));
}

void BytePump::finish(const Result& result) {
  if (finished_) return;
  finished_ = true;
  idle_timer_.cancel();
  for (auto& side : sides_) {
    bufferevent_disable(side.bev, EV_READ | EV_WRITE);
    bufferevent_setcb(side.bev, nullptr, nullptr, nullptr, nullptr);
  }
  done_(result);
}

}  // namespace fulcrum::net
