#include "support/scrape.h"

#include "support/process.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <sstream>

namespace fulcrum::test {

std::optional<std::string> findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);  // gzip wrapper only
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int result = Z_OK;
  while (result == Z_OK) {
    char chunk[4096];
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
  }
  const bool ended = result == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  REQUIRE(ended);
  return out;
}

std::optional<double> sample(const std::string& metrics, const std::string& series) {
  const std::string text = "\n" + metrics;
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + 1 + series.size() + 1;
  return std::stod(text.substr(start, text.find('\n', start) - start));
}

std::map<std::string, double> samples(const std::string& metrics) {
  std::map<std::string, double> out;
  size_t start = 0;
  while (start < metrics.size()) {
    size_t end = metrics.find('\n', start);
    if (end == std::string::npos) end = metrics.size();
    const std::string line = metrics.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space != std::string::npos) out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::map<std::string, double> scrapeSamples(uint16_t admin_port) {
  HttpMessage response = httpGet(admin_port, "/metrics");
  REQUIRE(response.status == 200);
  return samples(response.body);
}

double sumSeries(const std::map<std::string, double>& samples, const std::string& family,
                 const std::vector<std::string>& parts) {
  double total = 0;
  for (const auto& [series, value] : samples) {
    if (series.compare(0, family.size() + 1, family + "{") != 0) continue;
    bool all = true;
    for (const auto& part : parts) all = all && series.find(part) != std::string::npos;
    if (all) total += value;
  }
  return total;
}

double movedBy(const std::map<std::string, double>& before,
               const std::map<std::string, double>& after, const std::string& family,
               const std::vector<std::string>& parts) {
  return sumSeries(after, family, parts) - sumSeries(before, family, parts);
}

Pending::Pending(uint16_t port, const std::string& path, const std::string& extra_fields)
    : fd(connectLoopback(port)) {
  reader = std::make_unique<HttpReader>(fd.get());
  // The address dialled, as a client writes it: the admin listener
  // answers to nothing else.
  REQUIRE(writeAll(fd.get(), "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                 std::to_string(port) + "\r\n" + extra_fields + "\r\n"));
}

std::optional<HttpMessage> Pending::response() {
  return reader->response();
}

HttpMessage httpGet(uint16_t port, const std::string& path, const std::string& extra_fields) {
  auto answer = Pending(port, path, extra_fields + "Connection: close\r\n").response();
  REQUIRE(answer);
  return *answer;
}

namespace {

struct PromtoolResult {
  int status = -1;
  std::vector<std::string> output;
};

// `promtool check metrics < file`, bounded by the usual deadline.
PromtoolResult checkMetrics(const std::string& promtool, const std::string& file) {
  ChildProcess child({"/bin/sh", "-c", "exec \"$1\" check metrics <\"$2\"", "sh", promtool, file});
  PromtoolResult result;
  auto status = child.waitExit();
  if (status) {
    child.joinOutput();
    result.status = *status;
  }
  result.output = child.lines();
  return result;
}

}  // namespace

void requirePromtoolAccepts(const std::string& promtool, const TempDir& dir,
                            const std::string& name, const std::string& text) {
  const PromtoolResult checked = checkMetrics(promtool, dir.write(name, text));
  std::string output;
  for (const auto& line : checked.output) output += line + "\n";
  CAPTURE(name);
  CAPTURE(output);
  CHECK(checked.status == 0);
  for (const auto& line : checked.output) {
    CHECK(line.rfind("error", 0) != 0);
    CHECK(line.rfind("Error", 0) != 0);
  }
}

}  // namespace fulcrum::test
