// Rotating the access log as logrotate does: the file is moved away, then
// SIGUSR1 (or a reload) makes fulcrum open the path again. Under load from
// two clients on two workers, every answered request has exactly one whole
// line in one of the files, and every moved file got lines of its own.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// Requests on one keep-alive connection, each with its own number
// (GET /rotate?c=<client>&n=<i>), until stopped or `max` were answered.
class Client {
 public:
  Client(uint16_t port, int id, int max) : thread_([this, port, id, max] { run(port, id, max); }) {}
  ~Client() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answered() const { return answered_.load(); }
  bool failed() const { return failed_.load(); }

 private:
  void run(uint16_t port, int id, int max) {
    Fd fd = connectLoopback(port);
    if (!fd) {
      failed_ = true;
      return;
    }
    HttpReader reader(fd.get());
    for (int i = 0; i < max && !stop_; ++i) {
      const std::string request = "GET /rotate?c=" + std::to_string(id) +
                                  "&n=" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
      if (!writeAll(fd.get(), request)) {
        failed_ = true;
        return;
      }
      const auto response = reader.response(false, 10s);
      if (!response || response->status != 200) {
        failed_ = true;
        return;
      }
      answered_.store(i + 1);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

std::string fileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t lineCount(const std::string& path) {
  const std::string text = fileText(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// Checks that every line of `files` is one whole JSON object of a request
// to /rotate, and collects "c=<client>&n=<i>" of each into `seen`
// (CHECKs that none comes twice).
void collectLines(const std::vector<std::string>& files, std::set<std::string>& seen) {
  for (const std::string& file : files) {
    CAPTURE(file);
    const std::string text = fileText(file);
    CHECK(!text.empty());
    CHECK(text.back() == '\n');
    size_t from = 0;
    for (size_t lf = text.find('\n'); lf != std::string::npos; lf = text.find('\n', from)) {
      const std::string line = text.substr(from, lf - from);
      from = lf + 1;
      CAPTURE(line.substr(0, 160));
      REQUIRE(line.size() > 2);
      CHECK(line.front() == '{');
      CHECK(line.back() == '}');
      CHECK(std::count(line.begin(), line.end(), '{') == std::count(line.begin(), line.end(), '}'));
      const size_t at = line.find("/rotate?");
      REQUIRE(at != std::string::npos);
      const size_t end = line.find('"', at);
      REQUIRE(end != std::string::npos);
      CHECK(seen.insert(line.substr(at + 8, end - at - 8)).second);
    }
  }
}

}  // namespace

TEST_CASE("log rotation: 20 SIGUSR1 rotations under load lose no access log line and split none") {
  TempDir dir;
  const std::string path = dir.path() + "/access.log";
  HttpBackend backend("b");
  HttpConfig config{.servers = {backend.port()}, .workers = 2, .access_log = path};
  Proxy proxy(config.yaml());
  const uint16_t port = proxy.port("web");

  // Bounded: each client stops after kMax answers at the latest.
  constexpr int kMax = 20000;
  std::vector<std::string> files;
  int answered = 0;
  {
    Client one(port, 1, kMax);
    Client two(port, 2, kMax);
    for (int rotation = 0; rotation < 20; ++rotation) {
      CAPTURE(rotation);
      // The file in use has lines of its own before it is moved.
      REQUIRE(waitUntil([&] { return lineCount(path) > 0; }, 10s));
      files.push_back(path + "." + std::to_string(rotation + 1));
      REQUIRE(rename(path.c_str(), files.back().c_str()) == 0);
      proxy.process().signal(SIGUSR1);
      REQUIRE(waitUntil([&] { return exists(path); }, 10s));
    }
    REQUIRE(waitUntil([&] { return lineCount(path) > 0; }, 10s));
    one.stop();
    two.stop();
    CHECK_FALSE(one.failed());
    CHECK_FALSE(two.failed());
    answered = one.answered() + two.answered();
  }
  files.push_back(path);
  CHECK(answered > 40);

  // The writer catches up: one line per answered request in all files.
  const auto total = [&] {
    size_t lines = 0;
    for (const std::string& file : files) lines += lineCount(file);
    return lines;
  };
  CHECK(waitUntil([&] { return total() >= static_cast<size_t>(answered); }, 10s));
  std::set<std::string> seen;
  collectLines(files, seen);
  CHECK(seen.size() == static_cast<size_t>(answered));
  CHECK(total() == static_cast<size_t>(answered));

  proxy.process().signal(SIGTERM);
  CHECK(proxy.process().waitExit() == 0);
}

TEST_CASE("log rotation: a successful reload opens the access log file again") {
  TempDir dir;
  const std::string path = dir.path() + "/access.log";
  const std::string moved = path + ".1";
  HttpBackend backend("b");
  HttpConfig config{.servers = {backend.port()}, .access_log = path};
  Proxy proxy(config.yaml());
  const uint16_t port = proxy.port("web");
  REQUIRE(httpGet(port, "/rotate?c=0&n=0").status == 200);
  REQUIRE(waitUntil([&] { return lineCount(path) == 1; }, 10s));

  REQUIRE(rename(path.c_str(), moved.c_str()) == 0);
  Reloader reloader(proxy, 1);
  REQUIRE(reloader.succeeds(config.yaml()));
  CHECK(exists(path));
  REQUIRE(httpGet(port, "/rotate?c=0&n=1").status == 200);
  CHECK(waitUntil([&] { return lineCount(path) == 1; }, 10s));
  CHECK(lineCount(moved) == 1);
  std::set<std::string> seen;
  collectLines({moved, path}, seen);
  CHECK(seen == std::set<std::string>{"c=0&n=0", "c=0&n=1"});
}

TEST_CASE("log rotation: SIGUSR1 with the access log on stdout changes nothing and keeps serving") {
  HttpBackend backend("b");
  HttpConfig config{.servers = {backend.port()}, .access_log = "stdout"};
  Proxy proxy(config.yaml());
  const uint16_t port = proxy.port("web");
  proxy.process().signal(SIGUSR1);
  REQUIRE(proxy.process().waitForText("SIGUSR1: no log file to reopen"));
  CHECK(proxy.process().running());
  CHECK(httpGet(port, "/after").status == 200);
}
