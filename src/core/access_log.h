// The access log: one JSON object per line, to stdout or an append-only
// file, written by a thread of its own so that a slow disk or a reader that
// stops reading never holds up a worker.
//
// write() may be called from any thread. It copies the line into a bounded
// queue and returns; it never waits for I/O. While the queue holds
// kMaxQueuedBytes (lines queued plus lines being written), new lines are
// dropped and counted: dropped() for this log, droppedTotal() for every log
// the process has had (fulcrum_access_log_dropped_total). Lines a write
// could not deliver (a closed pipe, a full disk) are counted the same way.
//
// One writer thread per AccessLog takes everything queued at once and
// writes it in order, in writes of whole lines: at most PIPE_BUF bytes each
// to anything but a regular file, so a line is never cut or mixed with
// another writer's on a pipe (a line longer than PIPE_BUF goes alone).
// The writer waits for the descriptor without blocking on it: a FIFO path
// gets O_NONBLOCK; stdout, when it is a pipe, FIFO or terminal, is opened
// again through /proc/self/fd/1 so that O_NONBLOCK is set on a description
// of our own and not on the one the shell or other processes share; a
// socket is written with MSG_DONTWAIT (without /proc, the writer polls
// before each write instead). Regular files are written as they are: they
// wait for the disk, never for a reader.
//
// Destruction writes what is queued, then stops and joins the writer. On
// the thread that opened the log (the control thread: start, reload, exit)
// it waits up to kCloseWait for a reader to make room; on any other thread
// (a worker dropping the last reference to an old generation) it never
// waits for a reader: what does not fit at once is dropped and counted.
// So neither a worker nor the process exit hangs on a reader that is gone.
//
// reopen() (SIGUSR1, after logrotate moved the file) opens the path again
// and hands the new descriptor to the writer, which switches between two
// batches: every line goes whole to the old file or whole to the new one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace fulcrum {

class AccessLog {
 public:
  // About 3000 lines of 350 bytes: at 10k requests/s, 300 ms of a stalled
  // disk or reader (30 ms at 100k/s) before lines are dropped. nginx
  // buffers 64k per worker and then blocks; HAProxy drops log lines when
  // its buffer or socket is full. A payment proxy must keep answering, so
  // we drop, count, and hold a bounded amount of memory.
  static constexpr size_t kMaxQueuedBytes = size_t{1} << 20;
  // How long closing on the opening thread waits for a slow reader.
  static constexpr std::chrono::milliseconds kCloseWait{1000};

  // path "-" is stdout. Returns nullptr with `why` when the file cannot be
  // opened (or stdout is closed).
  static std::unique_ptr<AccessLog> open(const std::string& path, std::string& why);
  // Takes `fd` (its description is ours: O_NONBLOCK may be set on it), with
  // a queue bound of `max_queued_bytes`. For tests. Closes `fd` on failure.
  static std::unique_ptr<AccessLog> adopt(int fd, size_t max_queued_bytes, std::string& why);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Any thread; a newline is added. Never waits for I/O.
  void write(std::string_view line);

  // A file log: opens the path again (creating it) and switches the writer
  // to it; lines already written stay in the old file. False with `why`
  // when the path cannot be opened: the log keeps its old file. Stdout and
  // adopted descriptors have no path: nothing to do, true. Call on the
  // opening thread; never waits for the writer.
  bool reopen(std::string& why);

  // Lines of this log that were dropped.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Lines dropped by every access log of this process, ever. Process-wide
  // because a reload replaces the AccessLog (the file is opened again) and
  // may turn the log off and on: the counter must still never go back.
  static uint64_t droppedTotal();

 private:
  struct Output {
    int fd = -1;
    bool regular = false;      // a regular file: whole batches, no waiting for room
    bool socket = false;       // send() with MSG_DONTWAIT
    bool nonblocking = false;  // write() returns EAGAIN instead of blocking
  };

  // Opens `path` for appending; fd -1 with `why` on failure.
  static Output openFile(const std::string& path, bool nonblocking_open, std::string& why);
  // What fstat says about out.fd; sets O_NONBLOCK on anything but a
  // regular file (the description must be ours).
  static Output describe(int fd);
  // Starts the writer; closes out.fd and returns nullptr on failure.
  static std::unique_ptr<AccessLog> start(Output out, size_t max_queued_bytes, std::string& why);
  AccessLog(Output output, size_t max_queued_bytes, int wake_fd);
  void run();
  // Writes `batch` (whole lines) in order; returns how many bytes went out.
  size_t writeBatch(std::string_view batch);
  // Waits until the descriptor takes bytes. False once closing and the
  // close deadline has passed (or poll fails).
  bool waitWritable();
  void wake();
  void countDropped(uint64_t lines);

  Output out_;        // the writer's (and the destructor's, after the join)
  std::string path_;  // empty: stdout or adopted, never reopened
  const size_t max_queued_;
  const std::thread::id opener_;
  const int wake_fd_;  // eventfd: lines for an idle writer, or closing

  std::mutex mutex_;   // guards what follows, up to dropped_
  std::string queue_;  // whole lines, each ending in '\n'
  size_t held_ = 0;    // bytes queued or being written: the bound applies to it
  Output reopened_;    // fd -1, or the descriptor the writer switches to
  bool writer_idle_ = false;
  bool closing_ = false;
  std::chrono::steady_clock::time_point close_deadline_;

  std::atomic<uint64_t> dropped_{0};
  std::thread writer_;
};

// Appends `text` to `out` as a JSON string (with quotes).
void appendJsonString(std::string& out, std::string_view text);

}  // namespace fulcrum
