#include "http/admission.h"

#include "core/log.h"

namespace fulcrum::http {

using upstream::BreakerResource;

Admission::Admission(net::EventLoop& loop, const upstream::Upstream& upstream,
                     upstream::ConnectionWaitQueue* waiters, std::function<void()> retry,
                     std::function<void(const std::string& why)> give_up)
    : upstream_(upstream),
      waiters_(waiters),
      slots_(upstream.breaker.get()),
      give_up_(std::move(give_up)),
      wake_timer_(loop, std::move(retry)),
      pending_timer_(loop, [this] {
        stopWaiting();
        give_up_("circuit breaker: no upstream connection was freed within " +
                 std::to_string(upstream_.breaker->pendingTimeout().count()) +
                 "ms (pending_timeout)");
      }) {}

Admission::~Admission() {
  stopWaiting();
}

std::string Admission::refusal(BreakerResource resource) const {
  const char* name = resource == BreakerResource::Requests  ? "max_requests"
                     : resource == BreakerResource::Pending ? "max_pending"
                                                            : "max_connections";
  return std::string("circuit breaker: ") + name + " (" +
         std::to_string(upstream_.breaker->limit(resource)) + ") reached for upstream " +
         upstream_.name;
}

std::optional<std::string> Admission::admitRequest() {
  if (slots_.acquire(BreakerResource::Requests)) return std::nullopt;
  return refusal(BreakerResource::Requests);
}

Admission::Slot Admission::reserveConnection(std::string& why) {
  if (!slots_.acquire(BreakerResource::Pending)) {
    why = refusal(BreakerResource::Pending);
    return Slot::Refused;
  }
  if (slots_.acquire(BreakerResource::Connections)) {
    stopWaiting();
    return Slot::Granted;
  }
  if (waiters_ == nullptr) {
    why = refusal(BreakerResource::Connections);
    return Slot::Refused;
  }
  if (!waiting_) {
    log::debug(
        "a request waits for a connection to upstream %s (max_connections %llu reached)",
        upstream_.name.c_str(),
        static_cast<unsigned long long>(upstream_.breaker->limit(BreakerResource::Connections)));
    waiting_ = waiters_->add([this] { wake_timer_.arm(std::chrono::milliseconds(0)); });
    pending_timer_.arm(upstream_.breaker->pendingTimeout());
  }
  return Slot::Waiting;
}

void Admission::connected() {
  stopWaiting();
  slots_.release(BreakerResource::Pending);
}

void Admission::adoptPooledConnection() {
  connected();
  slots_.adoptConnection();
}

void Admission::finished() {
  stopWaiting();
  slots_.release(BreakerResource::Pending);
  slots_.release(BreakerResource::Requests);
}

void Admission::stopWaiting() {
  if (waiting_) waiters_->remove(*waiting_);
  waiting_.reset();
  wake_timer_.cancel();
  pending_timer_.cancel();
}

}  // namespace fulcrum::http
