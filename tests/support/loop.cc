#include "support/loop.h"

#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "net/timer.h"

namespace fulcrum::test {

void ignoreSigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

bool runUntil(net::EventLoop& loop, const std::function<bool()>& done,
              std::chrono::milliseconds deadline) {
  bool expired = false;
  // Its own event: EVLOOP_ONCE returns by the deadline even if nothing else happens.
  net::Timer timer(loop, [&expired] { expired = true; });
  timer.arm(deadline);
  while (!done()) {
    if (expired) return false;
    event_base_loop(loop.base(), EVLOOP_ONCE);
  }
  return true;
}

void runReady(net::EventLoop& loop) {
  // More than one: a callback may make more work ready (a deferred delete).
  for (int turn = 0; turn < 3; ++turn) event_base_loop(loop.base(), EVLOOP_NONBLOCK);
}

bool watchedByEpoll(int fd) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    std::error_code link_error;
    const auto target = std::filesystem::read_symlink(entry.path(), link_error);
    if (link_error || target.string() != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    std::string word;
    // Lines "tfd:       7 events: ..." name the watched descriptors.
    while (info >> word)
      if (word == "tfd:" && info >> word && word == std::to_string(fd)) return true;
  }
  return false;
}

SocketPair socketPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error("socketpair");
  return SocketPair{Fd(fds[0]), Fd(fds[1])};
}

std::unique_ptr<net::Stream> pairedStream(net::EventLoop& loop, Fd& peer) {
  SocketPair pair = socketPair();
  peer = std::move(pair.peer);
  return net::Stream::overSocket(loop, pair.ours.release());
}

void smallBuffers(int fd) {
  int size = 4096;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

bool readAvailable(int fd, std::string& out) {
  char buffer[65536];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n == 0;
  }
}

size_t writeAvailable(int fd, const std::string& data, size_t offset) {
  size_t written = 0;
  while (offset + written < data.size()) {
    ssize_t n = send(fd, data.data() + offset + written, data.size() - offset - written,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  return written;
}

SocketAddress loopbackAddress(uint16_t port) {
  SocketAddress address;
  std::string why;
  if (!parseSocketAddress("127.0.0.1:" + std::to_string(port), address, why))
    throw std::runtime_error(why);
  return address;
}

void StreamRecorder::onReadable(net::Stream& stream) {
  ++readable;
  size_t length = evbuffer_get_length(stream.input());
  if (length == 0) ++readable_empty;
  std::string chunk(length, '\0');
  evbuffer_remove(stream.input(), chunk.data(), length);
  read += chunk;
}

void StreamRecorder::onDrained(net::Stream& stream) {
  if (drained++ == 0) output_at_drain = evbuffer_get_length(stream.output());
}

void StreamRecorder::onClosed(net::Stream&, bool error, int code) {
  ++closes;
  close_error = error;
  close_code = code;
  read_at_close = read.size();
}

}  // namespace fulcrum::test
