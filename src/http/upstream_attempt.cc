#include "http/upstream_attempt.h"

#include "core/spares.h"
#include "net/turn_clock.h"

namespace fulcrum::http {

UpstreamAttempt::UpstreamAttempt(net::EventLoop& loop, upstream::UpstreamPicker& picker,
                                 upstream::AttemptSink* reporter, const upstream::Server& server,
                                 bool reused, std::function<void()> on_timeout)
    : loop_(loop),
      picker_(picker),
      reporter_(reporter),
      server_(server),
      reused_(reused),
      response_timer_(loop, std::move(on_timeout)) {
  head.fields = core::Spares<std::vector<Field>>::take();
  head.connection_tokens = core::Spares<std::vector<std::string_view>>::take();
}

UpstreamAttempt::~UpstreamAttempt() {
  retire();
  core::Spares<std::vector<Field>>::give(std::move(head.fields));
  core::Spares<std::vector<std::string_view>>::give(std::move(head.connection_tokens));
}

void UpstreamAttempt::attach(std::unique_ptr<net::Stream> connection, net::StreamHandler& handler) {
  stream_ = std::move(connection);
  connected_ = net::TurnClock::now();
  picker_.load().started(server_.index);
  counted_ = true;
  stream_->setHandler(&handler);
}

void UpstreamAttempt::endLoad() {
  if (!counted_) return;
  counted_ = false;
  picker_.load().finished(server_.index);
}

std::unique_ptr<net::Stream> UpstreamAttempt::release() {
  endLoad();
  response_timer_.cancel();
  if (stream_) stream_->setHandler(nullptr);
  return std::move(stream_);
}

void UpstreamAttempt::retire() {
  endLoad();
  response_timer_.cancel();
  if (!stream_) return;
  stream_->setHandler(nullptr);
  stream_->setReading(false);
  // It may be inside its own callback up the stack.
  loop_.deferDelete(std::move(stream_));
}

void UpstreamAttempt::report(upstream::AttemptOutcome outcome, uint16_t status) {
  if (reporter_ != nullptr) reporter_->report(server_.index, upstream::Attempt{outcome, status});
}

}  // namespace fulcrum::http
