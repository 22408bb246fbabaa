#include "net/stream.h"

#include <algorithm>
#include <cerrno>

#include "net/socket_transport.h"
#include "net/turn_clock.h"

namespace fulcrum::net {
namespace {

// One read per readable event fills at most this much; a connection with
// more stays readable and is read again on the next turn of the loop, so
// one busy peer cannot starve the others. libevent rounds a new chain's
// size plus its header up to a power of two: asking for exactly 16 KiB
// would allocate 32 KiB per read, so the header's share is left out.
constexpr size_t kReadSize = 16 * 1024 - 64;
constexpr int kReadsPerEvent = 4;

// Where a read lands. A small read (a request head, a short answer) lands
// in the thread's scratch buffer and is copied into a chain of its own
// size: reserving a 16 KiB chain for it was a malloc and a free too large
// for glibc's per-thread cache, twice per proxied request (2 % of a
// request's instructions, and the heap's slow paths with it). After a read
// of kBulkRead or more (a body streaming), the stream reads straight into
// its buffer, where the copy would cost more than the allocation saves.
constexpr size_t kBulkRead = 4096;
thread_local char t_read_scratch[kReadSize];

}  // namespace

Stream::Stream(EventLoop& loop, std::unique_ptr<Transport> transport)
    : loop_(loop),
      transport_(std::move(transport)),
      input_(newBuffer()),
      output_(newBuffer()),
      read_event_(event_new(loop.base(), transport_->fd(), EV_READ | EV_PERSIST,
                            &Stream::onReadEvent, this)),
      write_event_(event_new(loop.base(), transport_->fd(), EV_WRITE | EV_PERSIST,
                             &Stream::onWriteEvent, this)) {}

std::unique_ptr<Stream> Stream::overSocket(EventLoop& loop, int fd) {
  return std::make_unique<Stream>(loop, socketTransport(fd));
}

Stream::~Stream() {
  if (settle_pending_) loop_.cancelSettle(*this);
  if (handshake_event_ != nullptr) event_free(handshake_event_);
  event_free(read_event_);
  event_free(write_event_);
  // The buffers and the transport (closing the connection) go with their handles.
}

int Stream::releaseIdleSocket() {
  auto* socket = dynamic_cast<SocketTransport*>(transport_.get());
  if (socket == nullptr || handshake_event_ != nullptr || write_armed_ || write_error_ != 0 ||
      shutdown_pending_ || write_shut_ || write_wants_read_ || read_wants_write_ ||
      evbuffer_get_length(input_.get()) > 0 || evbuffer_get_length(output_.get()) > 0)
    return -1;
  setReading(false);
  // Unwatched now, not at the settle: the descriptor is someone else's.
  if (settle_pending_) {
    loop_.cancelSettle(*this);
    settle_pending_ = false;
  }
  read_first_ = false;
  event_del(read_event_);
  handler_ = nullptr;
  return socket->release();
}

void Stream::setReading(bool reading) {
  if (reading == reading_) return;
  reading_ = reading;
  askSettle();
}

void Stream::readWhatIsThere() {
  read_first_ = true;
  askSettle();
}

void Stream::askSettle() {
  if (settle_pending_) return;
  settle_pending_ = true;
  loop_.settleBeforeWait(*this);
}

void Stream::settle() {
  settle_pending_ = false;
  if (read_first_) {
    read_first_ = false;
    if (reading_ && !read_wants_write_ && !write_wants_read_) readSome();
    if (settle_pending_) return;  // the read changed what to watch: settled next round
  }
  // A write waiting for readability keeps the read event armed; a read
  // waiting for writability is resumed by the write event. Adding an added
  // event, or deleting one not added, makes no system call.
  if ((reading_ && !read_wants_write_) || write_wants_read_)
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

bool Stream::writeOnce() {
  IoResult result = transport_->write(output_.get());
  if (result.status == IoResult::Status::Error) {
    write_error_ = result.error;
    return false;
  }
  if (result.status == IoResult::Status::WantRead && !write_wants_read_) {
    write_wants_read_ = true;
    event_add(read_event_, nullptr);
  }
  return true;
}

void Stream::endWrites() {
  if (write_shut_) return;
  write_shut_ = true;
  transport_->shutdownWrite();
}

void Stream::flush() {
  if (write_armed_ || write_error_ != 0 || write_wants_read_) return;  // an event carries on
  if (evbuffer_get_length(output_.get()) > 0 && !writeOnce()) {
    // Reported from the loop, never inside the caller's own code.
    write_armed_ = true;
    event_active(write_event_, EV_WRITE, 0);
    return;
  }
  if (write_wants_read_) return;
  if (evbuffer_get_length(output_.get()) > 0)
    armWrite();
  else if (shutdown_pending_)
    endWrites();
}

void Stream::shutdownWrite() {
  shutdown_pending_ = true;
  if (!write_armed_ && !write_wants_read_ && evbuffer_get_length(output_.get()) == 0) endWrites();
}

void Stream::handshake(std::chrono::milliseconds timeout, HandshakeDone done) {
  handshake_done_ = std::move(done);
  handshake_deadline_ = TurnClock::now() + timeout;
  handshake_event_ = event_new(loop_.base(), transport_->fd(), 0, &Stream::onHandshakeEvent, this);
  // The first step from the loop, so `done` never runs inside this call.
  event_active(handshake_event_, 0, 0);
}

void Stream::onHandshakeEvent(evutil_socket_t, short what, void* self) {
  TurnClock::forget();
  auto* stream = static_cast<Stream*>(self);
  if ((what & EV_TIMEOUT) != 0) {
    event_free(stream->handshake_event_);
    stream->handshake_event_ = nullptr;
    stream->handshake_done_(*stream, IoResult::failed(ETIMEDOUT));
    return;
  }
  stream->shake();
}

void Stream::shake() {
  const IoResult step = transport_->handshake();
  if (step.waits()) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(handshake_deadline_ -
                                                                            TurnClock::now());
    const auto micros = std::max<int64_t>(left.count(), 0);
    const timeval limit{static_cast<time_t>(micros / 1000000),
                        static_cast<suseconds_t>(micros % 1000000)};
    event_del(handshake_event_);
    event_assign(handshake_event_, loop_.base(), transport_->fd(),
                 step.status == IoResult::Status::WantRead ? EV_READ : EV_WRITE,
                 &Stream::onHandshakeEvent, this);
    event_add(handshake_event_, &limit);
    return;
  }
  event_free(handshake_event_);
  handshake_event_ = nullptr;
  handshake_done_(*this,
                  step.status == IoResult::Status::Eof ? IoResult::failed(ECONNRESET) : step);
}

void Stream::fail(int error) {
  event_del(write_event_);
  setReading(false);
  if (handler_ != nullptr) handler_->onClosed(*this, true, error);
}

void Stream::readSome() {
  bool got_bytes = false;
  for (int i = 0; i < kReadsPerEvent; ++i) {
    evbuffer_iovec space{t_read_scratch, kReadSize};
    const bool direct = bulk_;
    if (direct && evbuffer_reserve_space(input_.get(), kReadSize, &space, 1) < 1) return;
    IoResult result = transport_->read(space.iov_base, space.iov_len);
    if (result.status == IoResult::Status::Done) {
      space.iov_len = result.bytes;
      if (direct) {
        evbuffer_commit_space(input_.get(), &space, 1);
      } else if (evbuffer_add(input_.get(), t_read_scratch, result.bytes) != 0) {
        fail(ENOMEM);  // the bytes are gone: the stream cannot go on
        return;
      }
      bulk_ = result.bytes >= kBulkRead;
      got_bytes = true;
      if (result.bytes < kReadSize) break;
      continue;
    }
    if (direct) evbuffer_commit_space(input_.get(), &space, 0);
    if (result.status == IoResult::Status::WantRead) break;
    if (result.status == IoResult::Status::WantWrite) {
      read_wants_write_ = true;
      // Nothing more is read until the transport could write: a readable
      // socket would otherwise wake the loop on every turn.
      if (!write_wants_read_) event_del(read_event_);
      event_add(write_event_, nullptr);
      break;
    }
    bool error = result.status == IoResult::Status::Error;
    setReading(false);
    // Bytes read before the close are delivered first.
    if (evbuffer_get_length(input_.get()) > 0 && handler_ != nullptr) handler_->onReadable(*this);
    if (handler_ != nullptr) handler_->onClosed(*this, error, result.error);
    return;
  }
  // Only with new bytes: a read that moved none (a transport waiting for the
  // other direction, a spurious wake-up) is no news, and a pooled connection
  // would take it for the server speaking unasked.
  if (got_bytes && handler_ != nullptr) handler_->onReadable(*this);
}

void Stream::writeSome(bool timed_out) {
  if (timed_out && write_error_ == 0) write_error_ = ETIMEDOUT;
  if (write_error_ == 0 && evbuffer_get_length(output_.get()) > 0) writeOnce();
  if (write_error_ != 0) {
    fail(write_error_);
    return;
  }
  if (write_wants_read_) {
    // Resumed by the next readable event, not by writability.
    write_armed_ = false;
    event_del(write_event_);
    return;
  }
  size_t left = evbuffer_get_length(output_.get());
  if (left == 0) {
    write_armed_ = false;
    event_del(write_event_);
    if (shutdown_pending_) endWrites();
  }
  if (left <= low_watermark_ && handler_ != nullptr) handler_->onDrained(*this);
}

void Stream::onReadEvent(evutil_socket_t, short, void* arg) {
  TurnClock::forget();
  auto* stream = static_cast<Stream*>(arg);
  if (stream->write_wants_read_) {
    stream->write_wants_read_ = false;
    if (!stream->reading_) event_del(stream->read_event_);
    stream->writeSome(false);
    if (stream->write_error_ != 0) return;
    if (!stream->write_wants_read_ && evbuffer_get_length(stream->output_.get()) > 0)
      stream->armWrite();
  }
  if (stream->reading_) stream->readSome();
}

void Stream::onWriteEvent(evutil_socket_t, short what, void* arg) {
  TurnClock::forget();
  auto* stream = static_cast<Stream*>(arg);
  if (stream->read_wants_write_) {
    stream->read_wants_write_ = false;
    if (!stream->write_armed_) event_del(stream->write_event_);
    if (stream->reading_) {
      event_add(stream->read_event_, nullptr);
      stream->readSome();
    }
    if (!stream->write_armed_) return;
  }
  stream->writeSome((what & EV_TIMEOUT) != 0);
}

}  // namespace fulcrum::net
