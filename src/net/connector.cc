#include "net/connector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/errno_text.h"
#include "core/local_errors.h"
#include "core/time_text.h"
#include "net/socket_transport.h"
#include "net/turn_clock.h"

namespace fulcrum::net {
namespace {

ConnectFailure classify(int error) {
  // Our own limits first: EADDRNOTAVAIL (no local port) is not the server's.
  if (isLocalResourceError(error)) return ConnectFailure::LocalResource;
  switch (error) {
    case ECONNREFUSED:
      return ConnectFailure::Refused;
    case ETIMEDOUT:
      return ConnectFailure::Timeout;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
      return ConnectFailure::Unreachable;
    default:
      return ConnectFailure::Failed;
  }
}

timeval toTimeval(std::chrono::milliseconds d) {
  if (d.count() < 0) d = std::chrono::milliseconds(0);
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

}  // namespace

const char* connectFailureName(ConnectFailure failure) {
  switch (failure) {
    case ConnectFailure::None:
      return "none";
    case ConnectFailure::Refused:
      return "refused";
    case ConnectFailure::Timeout:
      return "timeout";
    case ConnectFailure::Unreachable:
      return "unreachable";
    case ConnectFailure::LocalResource:
      return "local";
    case ConnectFailure::Handshake:
      return "handshake";
    case ConnectFailure::Failed:
      return "failed";
  }
  return "failed";
}

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
  transport_.reset();
  callback_ = nullptr;
}

void Connector::connect(const SocketAddress& address, std::chrono::milliseconds timeout,
                        Callback callback, TransportFactory transport, std::string_view preamble) {
  cancel();
  callback_ = std::move(callback);
  make_transport_ = std::move(transport);
  preamble_.assign(preamble);
  timeout_ = timeout;
  deadline_ = TurnClock::now() + timeout;
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
  const timeval limit = toTimeval(timeout);
  event_add(event_, &limit);
}

void Connector::onEvent(evutil_socket_t, short what, void* self) {
  auto* connector = static_cast<Connector*>(self);
  if (what & EV_TIMEOUT) {
    ConnectResult result;
    result.failure = ConnectFailure::Timeout;
    result.in_handshake = connector->transport_ != nullptr;
    result.detail = std::string(result.in_handshake ? "handshake" : "connect") +
                    " timed out after " + formatDuration(connector->timeout_);
    connector->finish(std::move(result));
    return;
  }
  if (connector->transport_) {
    connector->shake();
    return;
  }
  int error = connector->immediate_error_;
  if (error == 0) {
    socklen_t length = sizeof(error);
    if (getsockopt(connector->fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  }
  if (error != 0)
    connector->failWith(error);
  else
    connector->connected();
}

void Connector::connected() {
  int fd = fd_;
  fd_ = -1;  // the transport owns it now
  transport_ = make_transport_ ? make_transport_(fd) : socketTransport(fd);
  if (!transport_) {
    // The factory closed the socket; it fails only for want of memory.
    failWith(ENOMEM);
    return;
  }
  shake();
}

bool Connector::sendPreamble() {
  while (!preamble_.empty()) {
    const ssize_t sent =
        ::send(transport_->fd(), preamble_.data(), preamble_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      preamble_.erase(0, static_cast<size_t>(sent));
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait(EV_WRITE);
      return false;
    } else if (sent < 0 && errno != EINTR) {
      failWith(errno);
      return false;
    }
  }
  return true;
}

void Connector::shake() {
  if (!sendPreamble()) return;
  IoResult step = transport_->handshake();
  switch (step.status) {
    case IoResult::Status::Done: {
      ConnectResult result;
      result.stream = std::make_unique<Stream>(loop_, std::move(transport_));
      finish(std::move(result));
      return;
    }
    case IoResult::Status::WantRead:
      wait(EV_READ);
      return;
    case IoResult::Status::WantWrite:
      wait(EV_WRITE);
      return;
    case IoResult::Status::Eof:
    case IoResult::Status::Error: {
      ConnectResult result;
      result.failure = ConnectFailure::Handshake;
      result.error_number = step.error;
      const std::string reason = transport_->failureReason();
      result.detail =
          step.status == IoResult::Status::Eof
              ? "handshake failed: the server closed the connection"
              : "handshake failed: " + (reason.empty() ? errnoText(step.error) : reason);
      finish(std::move(result));
      return;
    }
  }
}

void Connector::wait(short what) {
  event_free(event_);
  event_ = event_new(loop_.base(), transport_->fd(), what, &Connector::onEvent, this);
  const timeval left = toTimeval(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - TurnClock::now()));
  event_add(event_, &left);
}

void Connector::failWith(int error) {
  ConnectResult result;
  result.failure = classify(error);
  result.error_number = error;
  result.detail = errnoText(error);
  finish(std::move(result));
}

void Connector::finish(ConnectResult result) {
  Callback callback = std::move(callback_);
  cancel();
  // `this` is not touched after the callback: it may start the next connect.
  callback(std::move(result));
}

}  // namespace fulcrum::net
