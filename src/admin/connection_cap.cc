#include "admin/connection_cap.h"

#include <algorithm>
#include <mutex>

#include "core/errno_text.h"
#include "core/local_errors.h"
#include "core/rate_limited_log.h"

namespace fulcrum::admin {
namespace {

constexpr std::chrono::milliseconds kErrorPause{100};

// libevent hands a listener's error callback the listener's user data,
// which evhttp_bind_listener made the evhttp: the cap is found by its
// listener here. Process-wide, so guarded (each AdminServer has its loop).
std::mutex g_caps_mutex;
std::vector<std::pair<evconnlistener*, ConnectionCap*>> g_caps;

ConnectionCap* capOf(evconnlistener* listener) {
  std::lock_guard lock(g_caps_mutex);
  for (const auto& [known, cap] : g_caps)
    if (known == listener) return cap;
  return nullptr;
}

void forget(const ConnectionCap* cap) {
  std::lock_guard lock(g_caps_mutex);
  g_caps.erase(std::remove_if(g_caps.begin(), g_caps.end(),
                              [cap](const auto& entry) { return entry.second == cap; }),
               g_caps.end());
}

}  // namespace

ConnectionCap::ConnectionCap(net::EventLoop& loop, size_t max, Closed closed)
    : loop_(loop), max_(std::max<size_t>(max, 1)), closed_(std::move(closed)) {
  settle_event_ = event_new(loop_.base(), -1, 0, &ConnectionCap::onSettle, this);
  error_timer_ = std::make_unique<net::Timer>(loop_, [this] {
    if (listener_ != nullptr && !paused_at_cap_) evconnlistener_enable(listener_);
  });
}

ConnectionCap::~ConnectionCap() {
  detach();
  event_free(settle_event_);
  // evhttp_free (before us) freed every connection; only our references
  // to bufferevents not settled yet are left.
  for (bufferevent* made : unsettled_) bufferevent_decref(made);
}

void ConnectionCap::attach(evhttp* http, evconnlistener* listener) {
  listener_ = listener;
  {
    std::lock_guard lock(g_caps_mutex);
    g_caps.emplace_back(listener, this);
  }
  evconnlistener_set_error_cb(listener, &ConnectionCap::onAcceptError);
  evhttp_set_bevcb(http, &ConnectionCap::onNewConnection, this);
}

void ConnectionCap::detach() {
  listener_ = nullptr;
  forget(this);
  error_timer_->cancel();
}

bufferevent* ConnectionCap::onNewConnection(event_base* base, void* arg) {
  auto* self = static_cast<ConnectionCap*>(arg);
  // Null makes evhttp make its own (then not counted, and not capped).
  bufferevent* made = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (made == nullptr) return nullptr;
  bufferevent_incref(made);  // alive until settled, even if evhttp frees it
  self->unsettled_.push_back(made);
  ++self->open_;
  // libevent accepts no more in this burst once the listener is disabled.
  if (self->open_ >= self->max_) self->pause();
  event_active(self->settle_event_, 0, 0);
  return made;
}

void ConnectionCap::onSettle(evutil_socket_t, short, void* arg) {
  static_cast<ConnectionCap*>(arg)->settle();
}

void ConnectionCap::settle() {
  std::vector<bufferevent*> made;
  made.swap(unsettled_);
  for (bufferevent* bev : made) {
    bufferevent_data_cb read = nullptr;
    bufferevent_data_cb write = nullptr;
    bufferevent_event_cb event = nullptr;
    void* argument = nullptr;
    bufferevent_getcb(bev, &read, &write, &event, &argument);
    if (event == nullptr || argument == nullptr) {
      // evhttp gave up on it (bufferevent_free clears the callbacks).
      --open_;
    } else {
      auto* connection = static_cast<evhttp_connection*>(argument);
      tracked_[connection] = true;
      evhttp_connection_set_closecb(connection, &ConnectionCap::onClosed, this);
    }
    bufferevent_decref(bev);
  }
  maybeResume();
}

void ConnectionCap::track(evhttp_connection* connection) {
  if (tracked_.emplace(connection, false).second)
    evhttp_connection_set_closecb(connection, &ConnectionCap::onClosed, this);
}

void ConnectionCap::onClosed(evhttp_connection* connection, void* arg) {
  auto* self = static_cast<ConnectionCap*>(arg);
  auto found = self->tracked_.find(connection);
  if (found == self->tracked_.end()) return;
  const bool counted = found->second;
  self->tracked_.erase(found);
  if (self->closed_) self->closed_(connection);
  if (!counted) return;
  --self->open_;
  self->maybeResume();
}

void ConnectionCap::pause() {
  paused_at_cap_ = true;
  if (listener_ != nullptr) evconnlistener_disable(listener_);
}

void ConnectionCap::maybeResume() {
  if (!paused_at_cap_ || open_ >= max_) return;
  paused_at_cap_ = false;
  // After an accept error the error timer resumes.
  if (listener_ != nullptr && !error_timer_->armed()) evconnlistener_enable(listener_);
}

void ConnectionCap::onAcceptError(evconnlistener* listener, void*) {
  const int error = EVUTIL_SOCKET_ERROR();
  countLocalError(LocalSite::AdminAccept, error);
  static log::Limited limited;
  limited.error("admin listener: accept failed: %s; pausing accepts for 100ms",
                errnoText(error).c_str());
  evconnlistener_disable(listener);
  if (ConnectionCap* self = capOf(listener)) self->error_timer_->arm(kErrorPause);
}

}  // namespace fulcrum::admin
