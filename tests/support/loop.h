// Driving a net::EventLoop in unit tests of the data path: run it until a
// condition holds or a deadline passes (a hang fails the test, nothing waits
// a fixed time), or give it the few turns that run whatever is ready now (to
// see that something does not happen). Also non-blocking socket pairs for
// Streams, the test playing the other end, and a StreamHandler that records.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/socket_address.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "support/net.h"

namespace fulcrum::test {

// Bounds a hang; a passing test never comes near it.
inline constexpr std::chrono::seconds kLoopDeadline{10};

// A write to a peer that left must fail with EPIPE, not kill the test
// process: ignores SIGPIPE, as fulcrum's main does.
void ignoreSigpipe();

// Runs `loop` until `done()` holds; false when `deadline` passed first.
// `done` is checked before every wait for events, so it may also play a
// peer (read or write its socket) that the loop then reacts to.
bool runUntil(net::EventLoop& loop, const std::function<bool()>& done,
              std::chrono::milliseconds deadline = kLoopDeadline);
// A few non-blocking turns: what is ready now (a readable socket, posted
// work, deferred deletes) runs; nothing waits.
void runReady(net::EventLoop& loop);

// Whether any epoll set of this process watches descriptor `fd` now (what
// /proc/self/fdinfo says of each epoll descriptor).
bool watchedByEpoll(int fd);

// A connected pair of non-blocking AF_UNIX stream sockets.
struct SocketPair {
  Fd ours;
  Fd peer;
};
SocketPair socketPair();
// A Stream over one end of a new socket pair; the other end goes to `peer`.
std::unique_ptr<net::Stream> pairedStream(net::EventLoop& loop, Fd& peer);
// Shrinks the kernel's send and receive buffers of `fd` (the kernel's
// minimum is near 4 KiB), so a write of a few hundred KiB cannot go out
// whole.
void smallBuffers(int fd);

// Appends what `fd` holds now to `out`, without waiting; true once the
// peer's EOF was read.
bool readAvailable(int fd, std::string& out);
// Writes from `data` at `offset` as much as `fd` takes now; the bytes written.
size_t writeAvailable(int fd, const std::string& data, size_t offset);

// 127.0.0.1:port.
SocketAddress loopbackAddress(uint16_t port);

// Keeps what a Stream tells it. Bytes read are moved out of input().
class StreamRecorder final : public net::StreamHandler {
 public:
  void onReadable(net::Stream& stream) override;
  void onDrained(net::Stream& stream) override;
  void onClosed(net::Stream& stream, bool error, int code) override;

  std::string read;
  int readable = 0;        // onReadable calls
  int readable_empty = 0;  // of those, calls with nothing in input()
  int drained = 0;
  size_t output_at_drain = 0;  // output() at the first onDrained
  int closes = 0;
  bool close_error = false;
  int close_code = 0;
  size_t read_at_close = 0;  // bytes read before onClosed
};

}  // namespace fulcrum::test
