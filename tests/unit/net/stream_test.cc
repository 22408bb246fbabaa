#include <doctest/doctest.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>

#include "net/socket_transport.h"
#include "net/stream.h"
#include "support/loop.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using test::readAvailable;
using test::runReady;
using test::runUntil;

namespace {

constexpr size_t kLarge = 1 << 20;  // far more than a small socket buffer holds

using MakeTransport = std::function<std::unique_ptr<net::Transport>(int fd)>;

// A Stream over one end of a socket pair, its callbacks recorded; the test
// plays the peer on the other end. Members die in reverse: the stream
// before the loop it is registered with.
struct StreamUnderTest {
  explicit StreamUnderTest(const MakeTransport& transport = net::socketTransport) {
    test::ignoreSigpipe();
    test::SocketPair pair = test::socketPair();
    peer = std::move(pair.peer);
    stream = std::make_unique<net::Stream>(loop, transport(pair.ours.release()));
    stream->setHandler(&recorder);
  }
  // Queues `bytes` and sends what the socket takes now.
  void send(const std::string& bytes) {
    evbuffer_add(stream->output(), bytes.data(), bytes.size());
    stream->flush();
  }
  size_t pending() const { return evbuffer_get_length(stream->output()); }
  // Both ends' socket buffers small: a large write goes out in parts.
  void shrinkBuffers() {
    test::smallBuffers(stream->fd());
    test::smallBuffers(peer.get());
  }
  // Runs the loop, the peer reading all it can into `got`, until `done()`.
  bool peerReadsUntil(std::string& got, const std::function<bool()>& done) {
    return runUntil(loop, [&] {
      readAvailable(peer.get(), got);
      return done();
    });
  }
  // The bytes waiting in the stream's socket, not read by it.
  ssize_t unread() const {
    char probe[64];
    return recv(stream->fd(), probe, sizeof(probe), MSG_PEEK | MSG_DONTWAIT);
  }

  net::EventLoop loop;
  test::StreamRecorder recorder;
  test::Fd peer;
  std::unique_ptr<net::Stream> stream;
};

// The plain socket, but answering as TLS sometimes must. With
// `read_wants_write`, the first read takes the socket's bytes (as TLS reads
// a record) yet asks to write before handing them over: the socket is no
// longer readable, so only writability can resume that read. With
// `write_wants_read`, the first write sends nothing and asks to read first.
class TlsLikeTransport final : public net::Transport {
 public:
  TlsLikeTransport(int fd, bool read_wants_write, bool write_wants_read)
      : socket_(fd), read_wants_write_(read_wants_write), write_wants_read_(write_wants_read) {}

  int fd() const override { return socket_.fd(); }
  net::IoResult handshake() override { return net::IoResult::done(0); }
  net::IoResult read(void* into, size_t size) override {
    ++reads;
    if (read_wants_write_) {
      read_wants_write_ = false;
      readAvailable(socket_.fd(), held_);
      return net::IoResult::wantWrite();
    }
    if (held_.empty()) return socket_.read(into, size);
    size_t length = std::min(size, held_.size());
    held_.copy(static_cast<char*>(into), length);
    held_.erase(0, length);
    return net::IoResult::done(length);
  }
  net::IoResult write(evbuffer* from) override {
    ++writes;
    if (write_wants_read_) {
      write_wants_read_ = false;
      return net::IoResult::wantRead();
    }
    return socket_.write(from);
  }
  void shutdownWrite() override { socket_.shutdownWrite(); }

  int reads = 0;
  int writes = 0;

 private:
  net::SocketTransport socket_;
  bool read_wants_write_;
  bool write_wants_read_;
  std::string held_;
};

// Makes TlsLikeTransports; `made` points at the last one.
MakeTransport tlsLike(TlsLikeTransport*& made, bool read_wants_write, bool write_wants_read) {
  return [&made, read_wants_write, write_wants_read](int fd) {
    auto transport = std::make_unique<TlsLikeTransport>(fd, read_wants_write, write_wants_read);
    made = transport.get();
    return transport;
  };
}

}  // namespace

TEST_CASE("stream: the peer's bytes reach input() and onReadable once reading is on") {
  StreamUnderTest t;
  REQUIRE(test::writeAll(t.peer.get(), "hello"));
  runReady(t.loop);
  CHECK(t.recorder.readable == 0);  // nothing is read before setReading(true)
  CHECK(t.unread() == 5);

  t.stream->setReading(true);
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "hello"; }));
  CHECK(t.recorder.readable_empty == 0);
  CHECK(t.recorder.closes == 0);
}

TEST_CASE("stream: a write the socket takes goes out inside flush(), with no turn of the loop") {
  StreamUnderTest t;
  t.send("ping");
  CHECK(t.pending() == 0);
  std::string got;
  readAvailable(t.peer.get(), got);
  CHECK(got == "ping");
  runReady(t.loop);
  // onDrained is for output that had to wait for the socket.
  CHECK(t.recorder.drained == 0);
}

TEST_CASE("stream: a write larger than the socket buffer goes out as the peer reads, then drains") {
  StreamUnderTest t;
  t.shrinkBuffers();
  const std::string payload = test::patternBytes(kLarge, 1);
  t.send(payload);
  const size_t first = payload.size() - t.pending();
  CHECK(first > 0);
  CHECK(first < payload.size());

  runReady(t.loop);  // the peer read nothing: nothing more goes
  CHECK(payload.size() - t.pending() == first);
  CHECK(t.recorder.drained == 0);

  std::string got;
  REQUIRE(t.peerReadsUntil(got, [&] { return t.recorder.drained > 0; }));
  readAvailable(t.peer.get(), got);
  CHECK(got == payload);
  CHECK(t.pending() == 0);
  CHECK(t.recorder.drained == 1);  // low watermark 0: once, when empty
  CHECK(t.recorder.output_at_drain == 0);
}

TEST_CASE("stream: onDrained fires when output falls to the low watermark, before it is empty") {
  StreamUnderTest t;
  t.shrinkBuffers();
  const std::string payload = test::patternBytes(kLarge, 2);
  t.stream->setLowWatermark(payload.size() / 2);
  t.send(payload);

  std::string got;
  REQUIRE(t.peerReadsUntil(got, [&] { return t.recorder.drained > 0; }));
  // Each turn moves one small socket buffer, so the first call comes soon
  // after crossing the mark, long before the end.
  CHECK(t.recorder.output_at_drain <= payload.size() / 2);
  CHECK(t.recorder.output_at_drain > 0);
  REQUIRE(t.peerReadsUntil(got, [&] { return got.size() == payload.size(); }));
  CHECK(got == payload);
}

TEST_CASE(
    "stream: the peer's EOF comes as onClosed(error = false) after the bytes sent before it") {
  StreamUnderTest t;
  // Three of the stream's 16 KiB reads, fewer than it makes per event: the
  // EOF is met by the same event as the bytes.
  const std::string payload = test::patternBytes(48 * 1024, 3);
  REQUIRE(test::writeAll(t.peer.get(), payload));
  REQUIRE(shutdown(t.peer.get(), SHUT_WR) == 0);
  t.stream->setReading(true);

  REQUIRE(runUntil(t.loop, [&] { return t.recorder.closes > 0; }));
  CHECK(t.recorder.closes == 1);
  CHECK_FALSE(t.recorder.close_error);
  CHECK(t.recorder.read_at_close == payload.size());
  CHECK(t.recorder.read == payload);
  CHECK_FALSE(t.stream->reading());
}

TEST_CASE("stream: shutdownWrite with nothing pending sends FIN at once") {
  StreamUnderTest t;
  t.stream->shutdownWrite();
  CHECK(t.stream->writeShut());
  std::string got;
  CHECK(readAvailable(t.peer.get(), got));
  CHECK(got.empty());
}

TEST_CASE("stream: shutdownWrite sends FIN only after the pending output, and reading goes on") {
  StreamUnderTest t;
  test::smallBuffers(t.stream->fd());
  const std::string payload = test::patternBytes(256 * 1024, 4);
  t.send(payload);
  REQUIRE(t.pending() > 0);
  t.stream->shutdownWrite();
  CHECK_FALSE(t.stream->writeShut());

  std::string got;
  REQUIRE(runUntil(t.loop, [&] { return readAvailable(t.peer.get(), got); }));
  CHECK(got == payload);  // every byte before the EOF
  CHECK(t.stream->writeShut());

  // Half-closed: the peer may still answer, and the stream still reads it.
  t.stream->setReading(true);
  REQUIRE(test::writeAll(t.peer.get(), "reply"));
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "reply"; }));
  CHECK(t.recorder.closes == 0);
}

TEST_CASE(
    "stream: reading is watched from the end of the turn, and a turn that turns it on and "
    "off again never watches it") {
  StreamUnderTest t;
  t.stream->setReading(true);
  CHECK_FALSE(test::watchedByEpoll(t.stream->fd()));  // settled when the turn ends
  runReady(t.loop);
  CHECK(test::watchedByEpoll(t.stream->fd()));
  t.stream->setReading(false);
  CHECK(test::watchedByEpoll(t.stream->fd()));
  runReady(t.loop);
  CHECK_FALSE(test::watchedByEpoll(t.stream->fd()));

  t.stream->setReading(true);
  t.stream->setReading(false);
  runReady(t.loop);
  CHECK_FALSE(test::watchedByEpoll(t.stream->fd()));
  REQUIRE(test::writeAll(t.peer.get(), "unread"));
  runReady(t.loop);
  CHECK(t.recorder.readable == 0);
  CHECK(t.unread() == 6);
}

TEST_CASE(
    "stream: readWhatIsThere reads bytes already there from the loop, before the socket is "
    "watched") {
  StreamUnderTest t;
  REQUIRE(test::writeAll(t.peer.get(), "request"));
  // Stops reading with the bytes in hand, as a session does with a request
  // that closes its connection.
  struct StopsReading final : net::StreamHandler {
    void onReadable(net::Stream& stream) override {
      read.append(
          static_cast<const char*>(static_cast<const void*>(evbuffer_pullup(stream.input(), -1))),
          evbuffer_get_length(stream.input()));
      evbuffer_drain(stream.input(), evbuffer_get_length(stream.input()));
      stream.setReading(false);
    }
    void onDrained(net::Stream&) override {}
    void onClosed(net::Stream&, bool, int) override {}
    std::string read;
  } handler;
  t.stream->setHandler(&handler);
  t.stream->setReading(true);
  t.stream->readWhatIsThere();
  CHECK(handler.read.empty());  // from the loop, never inside the call
  runReady(t.loop);
  CHECK(handler.read == "request");
  CHECK_FALSE(test::watchedByEpoll(t.stream->fd()));
  // Nothing there: the socket is watched as setReading(true) alone does.
  t.stream->setHandler(&t.recorder);
  t.stream->setReading(true);
  t.stream->readWhatIsThere();
  runReady(t.loop);
  CHECK(t.recorder.readable == 0);
  CHECK(test::watchedByEpoll(t.stream->fd()));
  REQUIRE(test::writeAll(t.peer.get(), "later"));
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "later"; }));
}

TEST_CASE("stream: setReading(false) leaves the peer's bytes in the socket until reading is on") {
  StreamUnderTest t;
  t.stream->setReading(true);
  REQUIRE(test::writeAll(t.peer.get(), "one"));
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "one"; }));

  t.stream->setReading(false);
  REQUIRE(test::writeAll(t.peer.get(), "two"));
  runReady(t.loop);
  CHECK(t.recorder.read == "one");
  CHECK(t.recorder.readable == 1);
  CHECK(t.unread() == 3);

  t.stream->setReading(true);
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "onetwo"; }));
}

// Takes nothing out of input(): each read must land behind the bytes before it.
class KeepingHandler final : public net::StreamHandler {
 public:
  void onReadable(net::Stream&) override { ++readable; }
  void onDrained(net::Stream&) override {}
  void onClosed(net::Stream&, bool, int) override { ++closes; }
  int readable = 0;
  int closes = 0;
};

TEST_CASE(
    "stream: short reads and long ones land in input() whole and in order, behind what is kept") {
  StreamUnderTest t;
  KeepingHandler keeper;
  t.stream->setHandler(&keeper);
  t.stream->setReading(true);
  auto held = [&] { return evbuffer_get_length(t.stream->input()); };
  // Short, long (a body: read after its first part straight into the
  // buffer), short again right after it, then short once more.
  const std::string parts[] = {"head", test::patternBytes(64 * 1024, 7), "tail", "end"};
  std::string sent;
  for (const std::string& part : parts) {
    REQUIRE(test::writeAll(t.peer.get(), part));
    sent += part;
    REQUIRE(runUntil(t.loop, [&] { return held() == sent.size(); }));
  }
  std::string got(held(), '\0');
  evbuffer_copyout(t.stream->input(), got.data(), got.size());
  CHECK(got == sent);
  CHECK(keeper.readable >= 4);
  CHECK(keeper.closes == 0);
}

TEST_CASE("stream: a write to a peer that left fails from the loop, as onClosed(error = true)") {
  StreamUnderTest t;
  t.peer = test::Fd();
  t.send("data");
  CHECK(t.recorder.closes == 0);  // never inside flush()

  REQUIRE(runUntil(t.loop, [&] { return t.recorder.closes > 0; }));
  CHECK(t.recorder.close_error);
  CHECK((t.recorder.close_code == EPIPE || t.recorder.close_code == ECONNRESET));
  // Reported once, however often the owner flushes again.
  t.send("more");
  runReady(t.loop);
  CHECK(t.recorder.closes == 1);
}

TEST_CASE(
    "stream: a peer that takes no byte for the send timeout fails the stream with ETIMEDOUT") {
  StreamUnderTest t;
  test::smallBuffers(t.stream->fd());
  t.stream->setSendTimeout(50ms);
  t.send(test::patternBytes(kLarge, 5));
  REQUIRE(t.pending() > 0);
  runReady(t.loop);
  CHECK(t.recorder.closes == 0);

  REQUIRE(runUntil(t.loop, [&] { return t.recorder.closes > 0; }));
  CHECK(t.recorder.close_error);
  CHECK(t.recorder.close_code == ETIMEDOUT);
}

TEST_CASE("stream: a read that must write first resumes when the socket is writable") {
  TlsLikeTransport* fake = nullptr;
  StreamUnderTest t(tlsLike(fake, true, false));
  REQUIRE(test::writeAll(t.peer.get(), "ping"));
  t.stream->setReading(true);
  REQUIRE(runUntil(t.loop, [&] { return t.recorder.read == "ping"; }));
  CHECK(fake->reads >= 2);
  // onReadable only with new bytes, not for the read that asked to write.
  CHECK(t.recorder.readable_empty == 0);
}

TEST_CASE("stream: a write that must read first waits for the socket to be readable") {
  TlsLikeTransport* fake = nullptr;
  StreamUnderTest t(tlsLike(fake, false, true));
  t.send("data");
  runReady(t.loop);  // writable all along, but the write waits for readability
  CHECK(fake->writes == 1);
  CHECK(t.pending() == 4);

  REQUIRE(test::writeAll(t.peer.get(), "x"));
  std::string got;
  REQUIRE(t.peerReadsUntil(got, [&] { return got == "data"; }));
  CHECK(t.recorder.drained == 1);
  // Reading is off: the byte that woke the write was left for the owner.
  CHECK(t.recorder.readable == 0);
  CHECK(t.unread() == 1);
}
