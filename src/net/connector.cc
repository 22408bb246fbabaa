#include "net/connector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errno_text.h"
#include "core/time_text.h"

namespace fulcrum::net {

Connector::~Connector() {
  cancel();
}

void Connector::cancel() {
  if (event_ != nullptr) {
    event_free(event_);
    event_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  callback_ = nullptr;
}

void Connector::connect(const SocketAddress& address, std::chrono::milliseconds timeout,
                        Callback callback) {
  cancel();
  callback_ = std::move(callback);
  timeout_ = timeout;
  immediate_error_ = 0;
  fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    immediate_error_ = errno;
  } else {
    int on = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (::connect(fd_, address.sockaddr_ptr(), address.length()) != 0 && errno != EINPROGRESS)
      immediate_error_ = errno;
  }
  event_ = event_new(loop_.base(), fd_, EV_WRITE, &Connector::onEvent, this);
  if (immediate_error_ != 0 || fd_ < 0) {
    // Report from the loop so callers never see their callback re-entered.
    event_active(event_, EV_WRITE, 0);
    return;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  event_add(event_, &tv);
}

void Connector::onEvent(evutil_socket_t, short what, void* self) {
  auto* connector = static_cast<Connector*>(self);
  ConnectResult result;
  if (what & EV_TIMEOUT) {
    result.timed_out = true;
    result.error = "connect timed out after " + formatDuration(connector->timeout_);
  } else {
    int error = connector->immediate_error_;
    if (error == 0) {
      socklen_t length = sizeof(error);
      if (getsockopt(connector->fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    }
    if (error != 0) {
      result.error_number = error;
      result.error = errnoText(error);
    } else {
      result.fd = connector->fd_;
      connector->fd_ = -1;  // the callback owns it now
    }
  }
  connector->finish(result);
}

void Connector::finish(const ConnectResult& result) {
  Callback callback = std::move(callback_);
  cancel();
  // `this` is not touched after the callback: it may start the next connect.
  callback(result);
}

}  // namespace fulcrum::net
