#include "support/process.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <cstdio>
#include <cstring>

#include <fstream>
#include <iostream>

namespace fulcrum::test {

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  readers_.emplace_back([this, fd = out_pipe[0]] { readOutput(fd); });
  readers_.emplace_back([this, fd = err_pipe[0]] { readOutput(fd); });
}

ChildProcess::~ChildProcess() {
  if (!exit_status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitExit(kDeadline);
  }
  joinOutput();
}

void ChildProcess::joinOutput() {
  for (auto& reader : readers_)
    if (reader.joinable()) reader.join();
}

void ChildProcess::readOutput(int fd) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (std::getenv("FULCRUM_TEST_VERBOSE")) std::cerr << "[" << pid_ << "] " << line << "\n";
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(std::move(line));
      changed_.notify_all();
    }
  }
  close(fd);
}

std::optional<std::string> ChildProcess::waitForLine(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  size_t checked = 0;
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    for (; checked < lines_.size(); ++checked)
      if (match(lines_[checked])) return lines_[checked];
    if (changed_.wait_until(lock, until) == std::cv_status::timeout) {
      for (; checked < lines_.size(); ++checked)
        if (match(lines_[checked])) return lines_[checked];
      return std::nullopt;
    }
  }
}

std::optional<std::string> ChildProcess::waitForText(const std::string& text,
                                                     std::chrono::milliseconds deadline) {
  return waitForLine([&](const std::string& line) { return line.find(text) != std::string::npos; },
                     deadline);
}

std::vector<std::string> ChildProcess::lines() {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

void ChildProcess::signal(int signal) {
  if (!exit_status_ && pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds deadline) {
  if (exit_status_) return exit_status_;
  // A pidfd becomes readable when the child exits: wait on that event.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd wait_for_exit{pidfd, POLLIN, 0};
    poll(&wait_for_exit, 1, static_cast<int>(deadline.count()));
    close(pidfd);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_status_;
}

bool ChildProcess::running() {
  return !waitExit(0ms).has_value();
}

long ChildProcess::rssKb() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds deadline) {
  CommandResult result;
  ChildProcess child(argv);
  auto status = child.waitExit(deadline);
  result.status = status ? *status : -1;
  if (!status) {
    child.signal(SIGKILL);
    child.waitExit();
  }
  child.joinOutput();
  for (const auto& line : child.lines()) result.output += line + "\n";
  return result;
}

std::string commandFailure(const std::vector<std::string>& argv,
                           std::chrono::milliseconds deadline) {
  CommandResult result = runCommand(argv, deadline);
  if (result.status == 0) return "";
  std::string said = result.output;
  while (!said.empty() && said.back() == '\n') said.pop_back();
  std::string command;
  for (const auto& arg : argv) command += (command.empty() ? "" : " ") + arg;
  return command + ": " + (said.empty() ? "exit " + std::to_string(result.status) : said);
}

}  // namespace fulcrum::test
