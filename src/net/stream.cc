#include "net/stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace fulcrum::net {
namespace {

// One recv per readable event fills at most this much; a socket with more
// stays readable and is read again on the next turn of the loop, so one
// busy peer cannot starve the others.
constexpr size_t kReadSize = 16 * 1024;
constexpr int kReadsPerEvent = 4;

}  // namespace

Stream::Stream(EventLoop& loop, int fd)
    : loop_(loop),
      fd_(fd),
      input_(evbuffer_new()),
      output_(evbuffer_new()),
      read_event_(event_new(loop.base(), fd, EV_READ | EV_PERSIST, &Stream::onReadEvent, this)),
      write_event_(event_new(loop.base(), fd, EV_WRITE | EV_PERSIST, &Stream::onWriteEvent, this)) {
}

Stream::~Stream() {
  event_free(read_event_);
  event_free(write_event_);
  evbuffer_free(input_);
  evbuffer_free(output_);
  ::close(fd_);
}

void Stream::setReading(bool reading) {
  if (reading == reading_) return;
  reading_ = reading;
  if (reading)
    event_add(read_event_, nullptr);
  else
    event_del(read_event_);
}

void Stream::armWrite() {
  if (write_armed_) return;
  write_armed_ = true;
  if (send_timeout_.count() <= 0) {
    event_add(write_event_, nullptr);
    return;
  }
  // The write event's own timeout: a persistent event's timeout starts over
  // each time the socket turns writable, that is each time the peer took
  // bytes, so it fires only after a whole send_timeout without progress.
  // No timer of its own: an idle connection pays nothing for it.
  const timeval limit{static_cast<time_t>(send_timeout_.count() / 1000),
                      static_cast<suseconds_t>(send_timeout_.count() % 1000 * 1000)};
  event_add(write_event_, &limit);
}

void Stream::flush() {
  if (write_armed_ || write_error_ != 0) return;  // the write event carries on
  if (evbuffer_get_length(output_) > 0) {
    int written = evbuffer_write(output_, fd_);
    if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      write_error_ = errno;
      // Reported from the loop, never inside the caller's own code.
      write_armed_ = true;
      event_active(write_event_, EV_WRITE, 0);
      return;
    }
  }
  if (evbuffer_get_length(output_) > 0) {
    armWrite();
  } else if (shutdown_pending_ && !write_shut_) {
    write_shut_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
}

void Stream::shutdownWrite() {
  shutdown_pending_ = true;
  if (!write_armed_ && evbuffer_get_length(output_) == 0 && !write_shut_) {
    write_shut_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
}

void Stream::onReadEvent(evutil_socket_t, short, void* arg) {
  auto* stream = static_cast<Stream*>(arg);
  for (int i = 0; i < kReadsPerEvent; ++i) {
    evbuffer_iovec space;
    if (evbuffer_reserve_space(stream->input_, kReadSize, &space, 1) < 1) return;
    ssize_t n = ::recv(stream->fd_, space.iov_base, space.iov_len, 0);
    if (n > 0) {
      space.iov_len = static_cast<size_t>(n);
      evbuffer_commit_space(stream->input_, &space, 1);
      if (static_cast<size_t>(n) < kReadSize) break;
      continue;
    }
    evbuffer_commit_space(stream->input_, &space, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    int code = n == 0 ? 0 : errno;
    stream->setReading(false);
    // Bytes read before the close are delivered first.
    if (evbuffer_get_length(stream->input_) > 0 && stream->handler_ != nullptr)
      stream->handler_->onReadable(*stream);
    if (stream->handler_ != nullptr) stream->handler_->onClosed(*stream, n != 0, code);
    return;
  }
  if (stream->handler_ != nullptr) stream->handler_->onReadable(*stream);
}

void Stream::onWriteEvent(evutil_socket_t, short what, void* arg) {
  auto* stream = static_cast<Stream*>(arg);
  if ((what & EV_TIMEOUT) != 0 && stream->write_error_ == 0) stream->write_error_ = ETIMEDOUT;
  if (stream->write_error_ == 0 && evbuffer_get_length(stream->output_) > 0) {
    int written = evbuffer_write(stream->output_, stream->fd_);
    if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      stream->write_error_ = errno;
  }
  if (stream->write_error_ != 0) {
    event_del(stream->write_event_);
    stream->setReading(false);
    if (stream->handler_ != nullptr)
      stream->handler_->onClosed(*stream, true, stream->write_error_);
    return;
  }
  size_t left = evbuffer_get_length(stream->output_);
  if (left == 0) {
    stream->write_armed_ = false;
    event_del(stream->write_event_);
    if (stream->shutdown_pending_ && !stream->write_shut_) {
      stream->write_shut_ = true;
      ::shutdown(stream->fd_, SHUT_WR);
    }
  }
  if (left <= stream->low_watermark_ && stream->handler_ != nullptr)
    stream->handler_->onDrained(*stream);
}

}  // namespace fulcrum::net
