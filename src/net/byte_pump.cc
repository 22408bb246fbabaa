#include "net/byte_pump.h"

#include "core/errno_text.h"
#include "net/turn_clock.h"

namespace fulcrum::net {

BytePump::BytePump(EventLoop& loop, std::unique_ptr<Stream> side0, std::unique_ptr<Stream> side1,
                   size_t max_buffered, std::chrono::milliseconds idle_timeout, DoneCallback done)
    : loop_(loop),
      max_buffered_(max_buffered),
      idle_timeout_(idle_timeout),
      idle_timer_(loop, [this] { checkIdle(); }),
      done_(std::move(done)) {
  sides_[0] = std::move(side0);
  sides_[1] = std::move(side1);
}

BytePump::~BytePump() {
  for (auto& side : sides_) {
    side->setHandler(nullptr);
    // The streams may still be inside their own callbacks up the stack.
    loop_.deferDelete(std::move(side));
  }
}

void BytePump::start() {
  last_activity_ = TurnClock::now();
  for (auto& side : sides_) {
    side->setHandler(this);
    // onDrained fires when pending output falls to half the cap: the moment
    // to resume reading the other side.
    side->setLowWatermark(max_buffered_ / 2);
    side->setReading(true);
  }
  idle_timer_.arm(idle_timeout_);
  // Bytes may already wait in an input buffer (read before the pump began).
  for (int i = 0; i < 2; ++i)
    if (evbuffer_get_length(sides_[i]->input()) > 0) moveInput(i);
}

void BytePump::moveInput(int from) {
  Stream& source = *sides_[from];
  Stream& target = *sides_[1 - from];
  size_t length = evbuffer_get_length(source.input());
  if (length == 0 || finished_) return;
  bytes_read_[from] += length;
  last_activity_ = TurnClock::now();
  evbuffer_add_buffer(target.output(), source.input());  // moves chains, no copy
  target.flush();
  if (evbuffer_get_length(target.output()) >= max_buffered_ && !read_closed_[from])
    source.setReading(false);
}

void BytePump::sendFinIfDrained(int to) {
  Stream& target = *sides_[to];
  if (evbuffer_get_length(target.output()) > 0) return;
  target.shutdownWrite();
  if (read_closed_[0] && read_closed_[1] && sides_[0]->writeShut() && sides_[1]->writeShut())
    finish(Result{End::Completed, -1, {}});
}

void BytePump::onReadable(Stream& stream) {
  moveInput(indexOf(stream));
}

void BytePump::onDrained(Stream& stream) {
  if (finished_) return;
  int to = indexOf(stream);
  int from = 1 - to;
  last_activity_ = TurnClock::now();
  if (!read_closed_[from] && !sides_[from]->reading()) sides_[from]->setReading(true);
  if (read_closed_[from]) sendFinIfDrained(to);
}

void BytePump::onClosed(Stream& stream, bool error, int code) {
  if (finished_) return;
  int side = indexOf(stream);
  if (error) {
    finish(Result{End::Error, side, code != 0 ? errnoText(code) : "socket error"});
    return;
  }
  if (read_closed_[side]) return;
  read_closed_[side] = true;
  moveInput(side);
  int to = 1 - side;
  // Hear from onDrained only when everything before the FIN is out.
  sides_[to]->setLowWatermark(0);
  sendFinIfDrained(to);
}

void BytePump::checkIdle() {
  auto idle_for = TurnClock::now() - last_activity_;
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
  for (auto& side : sides_) side->setReading(false);
  done_(result);
}

}  // namespace fulcrum::net
