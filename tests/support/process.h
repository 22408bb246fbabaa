// Child processes for integration tests: spawn with stdout and stderr
// captured line by line, wait for a line or an exit with a deadline, send
// signals. The destructor kills (SIGKILL) and reaps a child still running,
// so a failed test never leaves a process behind. Only our own child's PID
// is ever signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fulcrum::test {

using namespace std::chrono_literals;

// Deadlines are generous: they bound a hang, they do not measure speed.
constexpr std::chrono::seconds kDeadline{30};

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The first output line (stdout or stderr) for which `match` is true,
  // waiting up to `deadline`; lines already seen count.
  std::optional<std::string> waitForLine(const std::function<bool(const std::string&)>& match,
                                         std::chrono::milliseconds deadline = kDeadline);
  std::optional<std::string> waitForText(const std::string& text,
                                         std::chrono::milliseconds deadline = kDeadline);
  std::vector<std::string> lines();
  // After the child exited: waits until all its output has been read.
  void joinOutput();

  void signal(int signal);
  // The exit status (WEXITSTATUS, or 128+signal) or nullopt if still running at the deadline.
  std::optional<int> waitExit(std::chrono::milliseconds deadline = kDeadline);
  bool running();
  // Resident set size in KiB from /proc, 0 when gone.
  long rssKb() const;

 private:
  void readOutput(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::vector<std::thread> readers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// Runs `argv` (argv[0] a full path) to completion, bounded by `deadline`
// (then it is killed), and returns its status (-1 when it did not end) and
// its output.
struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr lines, each with '\n'
};
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds deadline = kDeadline);
// Runs `argv` like runCommand: "" when it exited 0, else the command line
// and what it printed (or its status), for a message that says what failed.
std::string commandFailure(const std::vector<std::string>& argv,
                           std::chrono::milliseconds deadline = kDeadline);

}  // namespace fulcrum::test
