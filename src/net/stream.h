// A connection with an input and an output buffer, on one EventLoop, that
// moves its bytes through a Transport (net/transport.h: the plain socket,
// TLS). The lean replacement for a libevent bufferevent on the data path:
// reading stays armed (no epoll_ctl per message), writes go out at once when
// the connection takes them (an EV_WRITE event is armed only when it does
// not), and a read is one transport read (no FIONREAD ioctl).
// Whether the socket is watched for reading is settled once per loop turn
// (EventLoop::settleBeforeWait), so a read turned on and off again within a
// turn costs no epoll_ctl; with readWhatIsThere() a new connection whose
// request came with it is read before it is watched, and one answered and
// closed within the turns that follow is never watched at all.
//
// Callbacks go to one StreamHandler at a time, on the loop's thread, never
// from inside a Stream method a handler called. A handler may replace
// itself or hand the stream to deferDelete from a callback, but must not
// destroy it there.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/transport.h"

namespace fulcrum::net {

class Stream;

class StreamHandler {
 public:
  // New bytes are in input().
  virtual void onReadable(Stream& stream) = 0;
  // After a write, output() fell to the low watermark (0 = it is empty).
  virtual void onDrained(Stream& stream) { (void)stream; }
  // The peer closed its side (error == false: EOF, reading stops) or the
  // socket failed (error == true, `code` is the errno; ETIMEDOUT when the
  // peer took no byte for the send timeout).
  virtual void onClosed(Stream& stream, bool error, int code) = 0;

 protected:
  ~StreamHandler() = default;
};

class Stream final : public DeferredDeletable, private Settling {
 public:
  // Nothing is read until setReading(true). The transport is connected
  // (its handshake done).
  Stream(EventLoop& loop, std::unique_ptr<Transport> transport);
  // Over a plain socket: takes ownership of the connected, non-blocking fd.
  static std::unique_ptr<Stream> overSocket(EventLoop& loop, int fd);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void setHandler(StreamHandler* handler) { handler_ = handler; }
  evbuffer* input() const { return input_.get(); }
  evbuffer* output() const { return output_.get(); }
  int fd() const { return transport_->fd(); }
  EventLoop& loop() const { return loop_; }

  void setReading(bool reading);
  bool reading() const { return reading_; }
  // While reading: reads what the socket holds already, from the loop and
  // before the socket is watched (the handler's onReadable, as from an
  // event), so that a request sent with its connection needs no wait.
  void readWhatIsThere();
  // Sends what output() holds now, as far as the socket takes it; the rest
  // goes when the socket is writable. Errors are reported from the loop.
  void flush();
  void setLowWatermark(size_t bytes) { low_watermark_ = bytes; }
  // The longest the peer may take no byte of output() while some waits
  // (nginx send_timeout); past it the stream fails with ETIMEDOUT. 0 = no
  // limit. Takes effect from the next wait for the socket.
  void setSendTimeout(std::chrono::milliseconds timeout) { send_timeout_ = timeout; }
  // Sends FIN once output() is empty.
  void shutdownWrite();
  // For a stream about to be destroyed with output() empty and nothing
  // more to read: the transport's last word (TLS close_notify), no FIN of
  // its own (the close sends it).
  void beforeClose() {
    if (!write_shut_) transport_->beforeClose();
  }

  // Runs the transport's handshake (TLS, on an accepted connection) to its
  // end within `timeout`, before anything is read or written; `done` gets
  // Done, or the Error (ETIMEDOUT when the deadline passed). `done` runs
  // from the loop, never inside this call, and may hand the stream to
  // deferDelete but must not destroy it. Destroying the stream cancels it.
  using HandshakeDone = std::function<void(Stream& stream, IoResult result)>;
  void handshake(std::chrono::milliseconds timeout, HandshakeDone done);
  Transport& transport() const { return *transport_; }
  bool writeShut() const { return write_shut_; }
  // An idle plain-socket connection (nothing buffered either way, nothing
  // pending, no failure) gives its descriptor up, to be waited on more
  // cheaply elsewhere: the stream stops reading and no longer closes it.
  // -1, and nothing changes, for any other (TLS keeps its session state).
  int releaseIdleSocket();

 private:
  static void onReadEvent(evutil_socket_t, short, void* self);
  static void onWriteEvent(evutil_socket_t, short, void* self);
  void armWrite();
  void readSome();
  void writeSome(bool timed_out);
  // Writes output() once; false (and write_error_ set) when that failed.
  bool writeOnce();
  void endWrites();
  void fail(int error);
  void askSettle();
  // Settling: the speculative read, then the read event added or deleted.
  void settle() override;
  static void onHandshakeEvent(evutil_socket_t, short what, void* self);
  void shake();

  EventLoop& loop_;
  std::unique_ptr<Transport> transport_;
  Buffer input_;
  Buffer output_;
  event* read_event_;
  event* write_event_;
  StreamHandler* handler_ = nullptr;
  size_t low_watermark_ = 0;
  std::chrono::milliseconds send_timeout_{0};
  bool reading_ = false;
  bool settle_pending_ = false;  // asked the loop for a settle()
  bool read_first_ = false;      // readWhatIsThere() waits for the settle
  bool bulk_ = false;            // the last read was large: read into input_ itself
  bool write_armed_ = false;
  bool shutdown_pending_ = false;
  bool write_shut_ = false;
  int write_error_ = 0;  // a failed write, reported from the loop
  // The transport asked for the other direction (TLS): the next readable
  // event resumes the write, the next writable one resumes the read.
  bool write_wants_read_ = false;
  bool read_wants_write_ = false;
  // handshake(): its one-shot event, the deadline and the callback.
  event* handshake_event_ = nullptr;
  std::chrono::steady_clock::time_point handshake_deadline_;
  HandshakeDone handshake_done_;
};

}  // namespace fulcrum::net
