// A client loop for failover tests: on a thread of its own (which may move
// into a network namespace first), one HTTP/1.1 GET per new connection to
// one IPv4 address, a request every `spacing`, bounded in count and in
// time; each result is kept with its times, the body of the answer (which
// names who served it) or what went wrong. Any IPv4 address: the test's
// namespaces hold it, never the host.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fulcrum::test {

struct PacedResult {
  std::chrono::steady_clock::time_point started, finished;
  bool ok = false;      // 200 with a whole body
  std::string body;     // when ok: the answer's body, trailing newline removed
  std::string failure;  // when not: "refused", "reset", "timeout", ...
};

// What happened from `from` on, up to `until`.
struct PacedWindow {
  int requests = 0, failures = 0, refused = 0;
  // From `from` to the first success whose body is `target` (-1: none).
  double switch_seconds = -1;
  // The longest time without a success: between two in the window, or
  // from the last one before it.
  double longest_gap_seconds = 0;
  int served_by_target = 0;
  // The first few failures: "what at +S.SSs" (since `from`), to look at.
  std::string first_failures;
};

class PacedClient {
 public:
  struct Options {
    std::string address;  // "192.0.2.100"
    uint16_t port = 0;
    std::chrono::milliseconds spacing{10};
    std::chrono::milliseconds request_deadline{2000};
    int max_requests = 20000;
    std::chrono::seconds max_duration{180};
    // Run first on the client's thread (enter a namespace); false stops it.
    std::function<bool(std::string& why)> prepare;
  };

  explicit PacedClient(Options options);
  // Stops the loop and joins the thread.
  ~PacedClient();
  PacedClient(const PacedClient&) = delete;
  PacedClient& operator=(const PacedClient&) = delete;

  void stop();
  // Copies of the results so far.
  std::vector<PacedResult> results();
  // Why the loop could not start, or "" .
  std::string error();
  // Successes from `from` on with this body.
  int successesSince(std::chrono::steady_clock::time_point from, const std::string& body);
  PacedWindow window(std::chrono::steady_clock::time_point from,
                     std::chrono::steady_clock::time_point until, const std::string& target);

 private:
  void run();
  PacedResult once() const;

  Options options_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<PacedResult> results_;
  std::string error_;
  std::thread thread_;
};

}  // namespace fulcrum::test
