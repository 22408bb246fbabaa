#include "net/acceptor.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace fulcrum::net {

Acceptor::Acceptor(EventLoop& loop, int fd, Accepted accepted, Failed failed,
                   TransportFactory transport)
    : loop_(loop),
      accepted_(std::move(accepted)),
      failed_(std::move(failed)),
      transport_(std::move(transport)),
      error_pause_(loop, [this] {
        if (listener_ != nullptr && !paused_) evconnlistener_enable(listener_);
      }) {
  // Backlog 0: the socket listens already, with the configured backlog;
  // a negative value would make libevent listen() again with its own 128.
  listener_ = evconnlistener_new(loop_.base(), &Acceptor::onAccept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
  if (listener_ != nullptr) evconnlistener_set_error_cb(listener_, &Acceptor::onError);
}

Acceptor::~Acceptor() {
  if (listener_ != nullptr) evconnlistener_free(listener_);
}

void Acceptor::pause() {
  if (paused_) return;
  paused_ = true;
  if (listener_ != nullptr) evconnlistener_disable(listener_);
}

void Acceptor::resume() {
  if (!paused_) return;
  paused_ = false;
  if (listener_ != nullptr && !error_pause_.armed()) evconnlistener_enable(listener_);
}

uint64_t Acceptor::backlog() const {
  if (listener_ == nullptr) return 0;
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (getsockopt(evconnlistener_get_fd(listener_), IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
    return 0;
  return info.tcpi_unacked;
}

int Acceptor::fd() const {
  return listener_ != nullptr ? evconnlistener_get_fd(listener_) : -1;
}

void Acceptor::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                        void* arg) {
  auto* self = static_cast<Acceptor*>(arg);
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  std::unique_ptr<Stream> stream;
  if (!self->transport_) {
    stream = Stream::overSocket(self->loop_, fd);
  } else if (auto transport = self->transport_(fd)) {
    stream = std::make_unique<Stream>(self->loop_, std::move(transport));
  } else {
    return;  // the factory closed it (out of memory)
  }
  self->accepted_(std::move(stream), SocketAddress(address, static_cast<socklen_t>(length)));
}

void Acceptor::onError(evconnlistener* listener, void* arg) {
  auto* self = static_cast<Acceptor*>(arg);
  const int error = EVUTIL_SOCKET_ERROR();
  evconnlistener_disable(listener);
  self->error_pause_.arm(kErrorPause);
  if (self->failed_) self->failed_(error);
}

}  // namespace fulcrum::net
