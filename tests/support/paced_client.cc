#include "support/paced_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "support/net.h"

namespace fulcrum::test {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Waits for `events` on fd until `until`; false at the deadline.
bool ready(int fd, short events, Clock::time_point until) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

std::string errorName(int error) {
  if (error == ECONNREFUSED) return "refused";
  if (error == ECONNRESET || error == EPIPE) return "reset";
  if (error == ETIMEDOUT) return "timeout";
  return std::strerror(error);
}

}  // namespace

PacedClient::PacedClient(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

PacedClient::~PacedClient() {
  stop();
}

void PacedClient::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PacedClient::run() {
  std::string why;
  if (options_.prepare && !options_.prepare(why)) {
    std::lock_guard lock(mutex_);
    error_ = why.empty() ? "could not start" : why;
    return;
  }
  const auto end = Clock::now() + options_.max_duration;
  for (int n = 0; n < options_.max_requests && !stop_ && Clock::now() < end; ++n) {
    PacedResult result = once();
    {
      std::lock_guard lock(mutex_);
      results_.push_back(result);
    }
    // Paced: a steady offered load, not as fast as refusals come back.
    std::this_thread::sleep_until(result.started + options_.spacing);
  }
}

PacedResult PacedClient::once() const {
  PacedResult result;
  result.started = Clock::now();
  const auto until = result.started + options_.request_deadline;
  auto fail = [&](std::string why) {
    result.failure = std::move(why);
    result.finished = Clock::now();
    return result;
  };
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail(std::strerror(errno));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(options_.port);
  inet_pton(AF_INET, options_.address.c_str(), &to.sin_addr);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0 &&
      errno != EINPROGRESS)
    return fail(errorName(errno));
  if (!ready(fd.get(), POLLOUT, until)) return fail("timeout");
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return fail(errorName(error));
  const std::string request = "GET / HTTP/1.1\r\nHost: pair\r\nConnection: close\r\n\r\n";
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return fail(errorName(errno));
  std::string response;
  char buffer[4096];
  for (;;) {
    if (!ready(fd.get(), POLLIN, until)) return fail("timeout");
    const ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return fail(errorName(errno));
    if (n == 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200 ", 0) != 0 || body == std::string::npos)
    return fail("answer: " + response.substr(0, response.find("\r\n")));
  result.body = response.substr(body + 4);
  while (!result.body.empty() && result.body.back() == '\n') result.body.pop_back();
  result.ok = true;
  result.finished = Clock::now();
  return result;
}

std::vector<PacedResult> PacedClient::results() {
  std::lock_guard lock(mutex_);
  return results_;
}

std::string PacedClient::error() {
  std::lock_guard lock(mutex_);
  return error_;
}

int PacedClient::successesSince(Clock::time_point from, const std::string& body) {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(results_.begin(), results_.end(), [&](const auto& r) {
    return r.ok && r.started >= from && r.body == body;
  }));
}

PacedWindow PacedClient::window(Clock::time_point from, Clock::time_point until,
                                const std::string& target) {
  PacedWindow out;
  std::optional<Clock::time_point> last_success;
  for (const PacedResult& r : results()) {
    // The last answer before the window starts the first gap.
    if (r.finished < from) {
      if (r.ok) last_success = r.finished;
      continue;
    }
    if (r.started > until) continue;
    ++out.requests;
    if (!r.ok) {
      if (++out.failures <= 3)
        out.first_failures +=
            r.failure + " at +" + std::to_string(seconds(r.started - from)) + "s ";
      out.refused += r.failure == "refused";
      continue;
    }
    if (last_success)
      out.longest_gap_seconds =
          std::max(out.longest_gap_seconds, seconds(r.finished - *last_success));
    last_success = r.finished;
    if (r.body != target) continue;
    ++out.served_by_target;
    if (out.switch_seconds < 0) out.switch_seconds = seconds(r.finished - from);
  }
  return out;
}

}  // namespace fulcrum::test
