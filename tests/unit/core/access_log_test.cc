// The access log's queue: lines arrive whole and in order, a full queue
// drops and counts instead of waiting, and destruction writes what is
// queued without hanging on a reader that never reads; reopen() moves to a
// new file between two lines.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/access_log.h"
#include "support/net.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace fulcrum;
using namespace std::chrono_literals;
using fulcrum::test::Fd;

namespace {

struct Pipe {
  Pipe() { REQUIRE(pipe2(fds, O_CLOEXEC) == 0); }
  ~Pipe() {
    if (fds[0] >= 0) close(fds[0]);
  }
  // The write end goes to the AccessLog, which closes it.
  int giveWriteEnd() { return std::exchange(fds[1], -1); }
  int fds[2] = {-1, -1};
};

// Everything in the pipe until the writer closed it (EOF), bounded by a
// deadline per read.
// Everything up to EOF; nothing when no EOF comes within 10 s. Safe on any
// thread (it asserts nothing).
std::optional<std::string> tryReadToEof(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    pollfd readable{fd, POLLIN, 0};
    if (poll(&readable, 1, 10000) <= 0) return std::nullopt;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return out;
    out.append(buffer, static_cast<size_t>(n));
  }
}

// The same on the test's own thread, where a missing EOF fails the test.
std::string readToEof(int fd) {
  std::optional<std::string> text = tryReadToEof(fd);
  if (!text) FAIL("no EOF from the access log's pipe");
  return *text;
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t from = 0;
  for (size_t lf = text.find('\n'); lf != std::string::npos; lf = text.find('\n', from)) {
    lines.push_back(text.substr(from, lf - from));
    from = lf + 1;
  }
  CHECK(from == text.size());  // nothing after the last newline: no cut line
  return lines;
}

// "line <n> xxxx...": a line of `size` bytes that says its number.
std::string numbered(int n, size_t size) {
  std::string line = "line " + std::to_string(n) + " ";
  line.resize(size, 'x');
  return line;
}

// The numbers of lines of the numbered() form; each must be whole.
std::vector<int> numbersOf(const std::vector<std::string>& lines, size_t size) {
  std::vector<int> numbers;
  for (const std::string& line : lines) {
    REQUIRE(line.size() == size);
    REQUIRE(line.rfind("line ", 0) == 0);
    numbers.push_back(std::stoi(line.substr(5)));
  }
  return numbers;
}

}  // namespace

TEST_CASE("access log: lines arrive whole and in order, and destruction writes what is queued") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), AccessLog::kMaxQueuedBytes, why);
  REQUIRE(log);
  // Read all along, as a log collector would: the pipe never stays full,
  // so nothing may be dropped, and what is still queued when the log goes
  // must be written before it closes its end.
  std::optional<std::string> received;
  std::thread reader([&] { received = tryReadToEof(pipe.fds[0]); });
  constexpr int kLines = 500;
  for (int i = 0; i < kLines; ++i) log->write(numbered(i, 99));
  log.reset();
  reader.join();
  REQUIRE(received.has_value());
  const std::vector<int> numbers = numbersOf(splitLines(*received), 99);
  REQUIRE(numbers.size() == kLines);
  for (int i = 0; i < kLines; ++i) CHECK(numbers[i] == i);
}

TEST_CASE("access log: a full queue drops and counts lines instead of waiting for the reader") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), 8192, why);
  REQUIRE(log);
  const uint64_t total_before = AccessLog::droppedTotal();
  // Nobody reads while they are written: at most the pipe (64 KiB) and the
  // queue (8 KiB) can take them, so most of these 200 KB must be dropped,
  // and write() returns each time all the same.
  constexpr int kLines = 2000;
  for (int i = 0; i < kLines; ++i) log->write(numbered(i, 99));
  const uint64_t dropped_while_full = log->dropped();
  CHECK(dropped_while_full >= kLines - (65536 + 8192) / 100);
  CHECK(AccessLog::droppedTotal() - total_before == dropped_while_full);

  // The reader comes back: what was queued arrives, in order, whole.
  std::string text;
  std::thread reader([&] { text = tryReadToEof(pipe.fds[0]).value_or(""); });
  log.reset();
  reader.join();
  const std::vector<int> numbers = numbersOf(splitLines(text), 99);
  CHECK(numbers.size() + dropped_while_full == kLines);
  for (size_t i = 1; i < numbers.size(); ++i) CHECK(numbers[i] > numbers[i - 1]);
}

TEST_CASE("access log: destruction does not hang on a reader that never reads") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), 1 << 20, why);
  REQUIRE(log);
  const uint64_t total_before = AccessLog::droppedTotal();
  constexpr int kLines = 5000;  // 500 KB: far more than the pipe holds
  for (int i = 0; i < kLines; ++i) log->write(numbered(i, 99));
  // Off the opening thread (as a worker dropping an old generation), the
  // writer gives up on what the pipe cannot take at once.
  std::thread([&] { log.reset(); }).join();
  const std::vector<int> numbers = numbersOf(splitLines(readToEof(pipe.fds[0])), 99);
  const uint64_t dropped = AccessLog::droppedTotal() - total_before;
  CHECK(dropped > 0);
  CHECK(numbers.size() + dropped == kLines);
}

TEST_CASE("access log: on the opening thread, destruction waits for a reader a bounded time") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), 1 << 20, why);
  REQUIRE(log);
  const uint64_t total_before = AccessLog::droppedTotal();
  constexpr int kLines = 1000;  // 100 KB: more than the pipe holds
  for (int i = 0; i < kLines; ++i) log->write(numbered(i, 99));
  log.reset();  // returns after kCloseWait at most: nobody reads
  const std::vector<int> numbers = numbersOf(splitLines(readToEof(pipe.fds[0])), 99);
  const uint64_t dropped = AccessLog::droppedTotal() - total_before;
  CHECK(dropped > 0);
  CHECK(numbers.size() + dropped == kLines);
}

TEST_CASE("access log: lines longer than PIPE_BUF are written whole too") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), AccessLog::kMaxQueuedBytes, why);
  REQUIRE(log);
  for (int i = 0; i < 5; ++i) log->write(numbered(i, 10000));
  log.reset();
  CHECK(numbersOf(splitLines(readToEof(pipe.fds[0])), 10000) == std::vector<int>{0, 1, 2, 3, 4});
}

namespace {

std::string fileText(const std::string& path) {
  std::string text;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  char buffer[65536];
  for (ssize_t n; (n = read(fd.get(), buffer, sizeof(buffer))) > 0;)
    text.append(buffer, static_cast<size_t>(n));
  return text;
}

}  // namespace

TEST_CASE("access log: reopen while another thread writes splits no line and loses none") {
  test::TempDir dir;
  const std::string path = dir.path() + "/access.log";
  std::string why;
  auto log = AccessLog::open(path, why);
  REQUIRE(log);
  // 21 chunks of lines, the 20 rotations each in the middle of one: the
  // writer thread waits for a rotation before its next chunk, so at most
  // two chunks (300 KB) are ever queued and no line is dropped for room.
  constexpr int kRotations = 20;
  constexpr int kChunk = 500;
  constexpr int kLines = (kRotations + 1) * kChunk;
  constexpr size_t kSize = 300;
  std::atomic<int> written{0};
  std::atomic<int> rotated{0};
  std::atomic<bool> stalled{false};
  std::thread writer([&] {
    for (int i = 0; i < kLines; ++i) {
      if (i > 0 && i % kChunk == 0 &&
          !test::waitUntil([&] { return rotated.load() >= i / kChunk; }, 10s)) {
        stalled = true;
        return;
      }
      log->write(numbered(i, kSize));
      written.store(i + 1);
    }
  });
  std::vector<std::string> files;
  for (int rotation = 0; rotation < kRotations; ++rotation) {
    CHECK(test::waitUntil([&] { return written.load() >= rotation * kChunk + kChunk / 2; }, 10s));
    files.push_back(path + "." + std::to_string(rotation));
    REQUIRE(rename(path.c_str(), files.back().c_str()) == 0);
    REQUIRE(log->reopen(why));
    struct stat st {};
    CHECK(stat(path.c_str(), &st) == 0);  // opened (created) before reopen returns
    rotated.store(rotation + 1);
  }
  writer.join();
  REQUIRE_FALSE(stalled.load());
  CHECK(log->dropped() == 0);
  log.reset();  // writes what is queued
  files.push_back(path);

  std::vector<int> numbers;
  for (const std::string& file : files) {
    CAPTURE(file);
    for (int n : numbersOf(splitLines(fileText(file)), kSize)) numbers.push_back(n);
  }
  // In order within and across files, none twice, none missing.
  REQUIRE(numbers.size() == static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) REQUIRE(numbers[static_cast<size_t>(i)] == i);
}

TEST_CASE("access log: a reopen that cannot open the path keeps writing to the old file") {
  test::TempDir dir;
  const std::string path = dir.path() + "/access.log";
  const std::string moved = path + ".1";
  std::string why;
  auto log = AccessLog::open(path, why);
  REQUIRE(log);
  log->write(numbered(0, 50));
  REQUIRE(rename(path.c_str(), moved.c_str()) == 0);
  REQUIRE(mkdir(path.c_str(), 0700) == 0);  // a directory cannot be opened for writing
  CHECK_FALSE(log->reopen(why));
  CHECK(why.find(path) != std::string::npos);
  log->write(numbered(1, 50));
  log.reset();
  CHECK(numbersOf(splitLines(fileText(moved)), 50) == std::vector<int>{0, 1});
}

TEST_CASE("access log: reopen of a log without a path (a pipe) changes nothing") {
  Pipe pipe;
  std::string why;
  auto log = AccessLog::adopt(pipe.giveWriteEnd(), AccessLog::kMaxQueuedBytes, why);
  REQUIRE(log);
  log->write(numbered(0, 40));
  CHECK(log->reopen(why));
  log->write(numbered(1, 40));
  log.reset();
  CHECK(numbersOf(splitLines(readToEof(pipe.fds[0])), 40) == std::vector<int>{0, 1});
}
