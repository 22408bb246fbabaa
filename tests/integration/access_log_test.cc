// The access log never holds up a worker: with the log going to a FIFO
// that nobody reads, every request is still answered, the lines that do
// not fit are counted in fulcrum_access_log_dropped_total, what reaches
// the FIFO is whole JSON lines in order, and the process still exits.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/scrape.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// Reads what `fd` (non-blocking) holds until `enough` complete lines are
// in `text`, EOF, or no byte came for `quiet`.
void readLines(int fd, std::string& text, size_t enough, std::chrono::milliseconds quiet) {
  char buffer[65536];
  while (static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) < enough) {
    pollfd readable{fd, POLLIN, 0};
    if (poll(&readable, 1, static_cast<int>(quiet.count())) <= 0) return;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return;
    text.append(buffer, static_cast<size_t>(n));
  }
}

// The complete lines of `text`; each must be one whole JSON object of an
// HTTP request to `path` (a cut or mixed line fails), and the request
// numbers (?n=) must only grow.
size_t checkWholeLines(const std::string& text, const std::string& path) {
  size_t count = 0;
  int last = -1;
  size_t from = 0;
  for (size_t lf = text.find('\n'); lf != std::string::npos; lf = text.find('\n', from)) {
    const std::string line = text.substr(from, lf - from);
    from = lf + 1;
    CAPTURE(line.substr(0, 120));
    REQUIRE(line.size() > 2);
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    CHECK(std::count(line.begin(), line.end(), '{') == std::count(line.begin(), line.end(), '}'));
    CHECK(line.find(R"("type":"http")") != std::string::npos);
    CHECK(line.find(R"("status":200)") != std::string::npos);
    const size_t at = line.find(path + "?n=");
    REQUIRE(at != std::string::npos);
    const int n = std::stoi(line.substr(at + path.size() + 3));
    CHECK(n > last);
    last = n;
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("access log: a FIFO nobody reads costs log lines, counted, never answers") {
  TempDir dir;
  const std::string fifo = dir.path() + "/access.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // Opened for reading first (and then not read), so the proxy's open for
  // writing does not wait for a reader.
  Fd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(reader);
  HttpBackend backend("b");
  HttpConfig config{.servers = {backend.port()}, .access_log = fifo};
  Proxy proxy(config.yaml());
  const uint16_t port = proxy.port("web");

  // 1500 lines of about 2.3 KB: 3.4 MB, more than the FIFO (64 KiB) and
  // the log's queue (1 MiB) hold together.
  constexpr int kRequests = 1500;
  const std::string path = "/pay/" + std::string(2000, 'p');
  Fd client = connectLoopback(port);
  REQUIRE(client);
  HttpReader responses(client.get());
  for (int i = 0; i < kRequests; ++i) {
    CAPTURE(i);
    REQUIRE(writeAll(client.get(),
                     "GET " + path + "?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    const auto response = responses.response(false, 10s);
    REQUIRE(response);
    REQUIRE(response->status == 200);
  }

  const std::string metrics = httpGet(proxy.adminPort(), "/metrics").body;
  const auto dropped = sample(metrics, "fulcrum_access_log_dropped_total");
  REQUIRE(dropped);
  CHECK(*dropped > 0);
  CHECK(*dropped < kRequests);

  // Reading again: the lines that were kept come out whole and in order.
  std::string text;
  readLines(reader.get(), text, 200, 2s);
  CHECK(checkWholeLines(text, path) >= 200);

  // With the FIFO full again and unread, a drain still ends the process.
  client = Fd();
  proxy.process().signal(SIGTERM);
  CHECK(proxy.process().waitExit() == 0);
  readLines(reader.get(), text, static_cast<size_t>(kRequests), 2s);
  const size_t whole = checkWholeLines(text, path);
  CHECK(text.back() == '\n');
  CHECK(whole + static_cast<size_t>(*dropped) <= kRequests);
}
