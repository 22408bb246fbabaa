#include "core/access_log.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>

#include "core/errno_text.h"

namespace fulcrum {
namespace {

std::atomic<uint64_t> dropped_total{0};

// Where a batch piece starting at `from` ends: after the last whole line
// within `limit` bytes, or after the line at `from` when that alone is longer.
size_t pieceEnd(std::string_view batch, size_t from, size_t limit) {
  const size_t window_end = std::min(batch.size(), from + limit);
  size_t lf = batch.rfind('\n', window_end - 1);
  if (lf == std::string_view::npos || lf < from) lf = batch.find('\n', from);
  return lf == std::string_view::npos ? batch.size() : lf + 1;
}

}  // namespace

std::unique_ptr<AccessLog> AccessLog::open(const std::string& path, std::string& why) {
  if (path != "-") {
    // A FIFO blocks here until a reader opens it, as it always has.
    Output out = openFile(path, false, why);
    if (out.fd < 0) return nullptr;
    std::unique_ptr<AccessLog> log = start(out, kMaxQueuedBytes, why);
    if (log) log->path_ = path;
    return log;
  }
  int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    why = "cannot write the access log to standard output: " + errnoText(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  Output out;
  out.fd = fd;
  out.regular = S_ISREG(st.st_mode);
  out.socket = S_ISSOCK(st.st_mode);
  out.nonblocking = out.socket;  // MSG_DONTWAIT
  if (!out.regular && !out.socket) {
    // A pipe, FIFO or terminal opened again is a description of our own,
    // so O_NONBLOCK on it changes nothing for the processes sharing stdout.
    // Without /proc the shared description stays blocking, and the writer
    // polls before each write of at most PIPE_BUF bytes instead.
    int own = ::open("/proc/self/fd/1", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (own >= 0) {
      ::close(fd);
      out.fd = own;
      out.nonblocking = true;
    }
  }
  return start(out, kMaxQueuedBytes, why);
}

std::unique_ptr<AccessLog> AccessLog::adopt(int fd, size_t max_queued_bytes, std::string& why) {
  return start(describe(fd), max_queued_bytes, why);
}

AccessLog::Output AccessLog::openFile(const std::string& path, bool nonblocking_open,
                                      std::string& why) {
  const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (nonblocking_open ? O_NONBLOCK : 0);
  const int fd = ::open(path.c_str(), flags, 0640);
  if (fd < 0) {
    why = "cannot open access log " + path + ": " + errnoText(errno);
    return Output{};
  }
  return describe(fd);
}

AccessLog::Output AccessLog::describe(int fd) {
  Output out;
  out.fd = fd;
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    out.regular = S_ISREG(st.st_mode);
    out.socket = S_ISSOCK(st.st_mode);
  }
  if (!out.regular) {
    const int flags = fcntl(fd, F_GETFL);
    out.nonblocking = flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
  }
  return out;
}

bool AccessLog::reopen(std::string& why) {
  if (path_.empty()) return true;
  // Never blocks the caller: a FIFO without a reader fails (ENXIO) instead
  // of waiting for one.
  Output next = openFile(path_, true, why);
  if (next.fd < 0) return false;
  int replaced = -1;
  bool idle = false;
  {
    std::lock_guard lock(mutex_);
    replaced = std::exchange(reopened_.fd, -1);  // a reopen the writer has not taken yet
    reopened_ = next;
    idle = std::exchange(writer_idle_, false);
  }
  if (replaced >= 0) ::close(replaced);
  // An idle writer switches now, so the old file is closed at once.
  if (idle) wake();
  return true;
}

std::unique_ptr<AccessLog> AccessLog::start(Output out, size_t max_queued_bytes, std::string& why) {
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    why = "cannot start the access log writer: " + errnoText(errno);
    ::close(out.fd);
    return nullptr;
  }
  std::unique_ptr<AccessLog> log(new AccessLog(out, max_queued_bytes, wake_fd));
  // The writer takes no signal: they are the control loop's to handle, and
  // a SIGPIPE from a reader that left stays pending on it (write says EPIPE).
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  try {
    log->writer_ = std::thread([raw = log.get()] { raw->run(); });
  } catch (const std::system_error& e) {
    why = std::string("cannot start the access log writer: ") + e.what();
    log.reset();
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return log;
}

AccessLog::AccessLog(Output output, size_t max_queued_bytes, int wake_fd)
    : out_(output),
      max_queued_(max_queued_bytes),
      opener_(std::this_thread::get_id()),
      wake_fd_(wake_fd) {}

AccessLog::~AccessLog() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      const bool may_wait = std::this_thread::get_id() == opener_;
      close_deadline_ =
          std::chrono::steady_clock::now() + (may_wait ? kCloseWait : std::chrono::milliseconds(0));
    }
    wake();
    writer_.join();
  }
  ::close(wake_fd_);
  ::close(out_.fd);
  if (reopened_.fd >= 0) ::close(reopened_.fd);
}

void AccessLog::write(std::string_view line) {
  bool idle = false;
  {
    std::lock_guard lock(mutex_);
    if (held_ + line.size() + 1 > max_queued_) {
      countDropped(1);
      return;
    }
    queue_.append(line);
    queue_.push_back('\n');
    held_ += line.size() + 1;
    idle = std::exchange(writer_idle_, false);
  }
  // Only an idle writer needs the system call; a busy one takes the line
  // with its next batch.
  if (idle) wake();
}

uint64_t AccessLog::droppedTotal() {
  return dropped_total.load(std::memory_order_relaxed);
}

void AccessLog::countDropped(uint64_t lines) {
  dropped_.fetch_add(lines, std::memory_order_relaxed);
  dropped_total.fetch_add(lines, std::memory_order_relaxed);
}

void AccessLog::wake() {
  const uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));  // full only if already signalled
  (void)ignored;
}

void AccessLog::run() {
  std::string batch;
  for (;;) {
    Output next;
    bool done = false;
    {
      std::lock_guard lock(mutex_);
      // Between two batches: no line is split across the old and new file.
      next = std::exchange(reopened_, Output{});
      if (queue_.empty()) {
        done = closing_;
        writer_idle_ = !done;
      } else {
        // The queue takes the old batch's buffer: no allocation per batch.
        batch.swap(queue_);
      }
    }
    if (next.fd >= 0) {
      ::close(out_.fd);
      out_ = next;
    }
    if (done) return;
    if (batch.empty()) {
      pollfd woken{wake_fd_, POLLIN, 0};
      if (::poll(&woken, 1, -1) > 0) {
        uint64_t count = 0;
        ssize_t ignored = ::read(wake_fd_, &count, sizeof(count));
        (void)ignored;
      }
      continue;
    }
    const size_t written = writeBatch(batch);
    if (written < batch.size())
      countDropped(static_cast<uint64_t>(std::count(batch.begin() + written, batch.end(), '\n')));
    {
      std::lock_guard lock(mutex_);
      held_ -= batch.size();
    }
    batch.clear();
  }
}

size_t AccessLog::writeBatch(std::string_view batch) {
  // Up to PIPE_BUF bytes a write is atomic on a pipe: whole lines then
  // never interleave with another writer's (stderr on the same pipe).
  const size_t limit = out_.regular ? batch.size() : size_t{PIPE_BUF};
  size_t done = 0;
  while (done < batch.size()) {
    const size_t end = pieceEnd(batch, done, limit);
    if (!out_.regular && !out_.nonblocking && !waitWritable()) break;
    const char* bytes = batch.data() + done;
    const ssize_t n = out_.socket ? ::send(out_.fd, bytes, end - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                                  : ::write(out_.fd, bytes, end - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waitWritable()) continue;
    break;  // a write error, or closing and no room came in time: the rest is lost
  }
  return done;
}

bool AccessLog::waitWritable() {
  for (;;) {
    int timeout_ms = -1;
    {
      std::lock_guard lock(mutex_);
      if (closing_) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            close_deadline_ - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        timeout_ms = static_cast<int>(left.count());
      }
    }
    pollfd fds[2] = {{out_.fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    if (fds[1].revents & POLLIN) {
      uint64_t count = 0;
      ssize_t ignored = ::read(wake_fd_, &count, sizeof(count));
      (void)ignored;
    }
    // Writable, or an error (POLLERR, POLLHUP) that the write will report.
    if (fds[0].revents != 0) return true;
  }
}

void appendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace fulcrum
