// The admin listener's /status page as a browser shows it: the real proxy
// with one server up, one refusing (its tcp check fails) and one drained
// through the API, and a TLS listener whose certificate is listed, and headless Chromium loading
// the page (its inline script included) and dumping the DOM, then taking a screenshot. The
// screenshot is kept under the build tree as the test's artifact. Chromium is a required tool here
// (CI installs it from .ci/packages-test.txt): without it the test fails.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// Chromium's first paint and its renderer can be slow on a loaded machine.
constexpr std::chrono::seconds kBrowserDeadline{90};

// Copies `file` to the artifact directory under `name`, through a rename so
// that a reader never sees half a file. Returns the artifact's path.
std::string keepArtifact(const std::string& file, const std::string& name) {
  const std::filesystem::path dir(FULCRUM_ARTIFACT_DIR);
  std::filesystem::create_directories(dir);
  const std::filesystem::path partial = dir / (name + "." + std::to_string(::getpid()) + ".part");
  std::filesystem::copy_file(file, partial, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(partial, dir / name);
  return (dir / name).string();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs headless Chromium on `url` with `extra` flags, stdout to `stdout_path`
// (sh and the Debian launcher script both `exec`, so the PID stays the
// browser's own and an overrun kills Chromium itself).
// Returns the exit status; the destructor of ChildProcess kills (by PID) and
// reaps a browser still running at the deadline.
int runChromium(const std::string& chromium, const std::string& profile_dir,
                const std::vector<std::string>& extra, const std::string& url,
                const std::string& stdout_path, std::string& diagnostics) {
  std::vector<std::string> argv{"/bin/sh",
                                "-c",
                                "out=$1; shift; exec \"$@\" >\"$out\"",
                                "sh",
                                stdout_path,
                                chromium,
                                "--headless=new",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-dev-shm-usage",
                                "--user-data-dir=" + profile_dir,
                                "--virtual-time-budget=3000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  ChildProcess browser(argv);
  auto status = browser.waitExit(kBrowserDeadline);
  if (status) browser.joinOutput();
  for (const auto& line : browser.lines()) diagnostics += line + "\n";
  return status ? *status : -1;
}

// The text of an element's markup with its tags removed.
std::string textOf(const std::string& markup) {
  std::string out;
  bool in_tag = false;
  for (char c : markup) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      out += c;
  }
  return out;
}

// One table row of the dumped DOM: the raw markup of each cell.
using Row = std::vector<std::string>;

// Every <tr> of the document, split into its <td> cells (header rows have none).
std::vector<Row> tableRows(const std::string& dom) {
  std::vector<Row> rows;
  size_t at = 0;
  while ((at = dom.find("<tr", at)) != std::string::npos) {
    const size_t end = dom.find("</tr>", at);
    if (end == std::string::npos) break;
    const std::string row = dom.substr(at, end - at);
    Row cells;
    size_t cell = 0;
    while ((cell = row.find("<td", cell)) != std::string::npos) {
      const size_t open_end = row.find('>', cell);
      const size_t close = row.find("</td>", open_end);
      if (open_end == std::string::npos || close == std::string::npos) break;
      cells.push_back(row.substr(open_end + 1, close - open_end - 1));
      cell = close;
    }
    if (!cells.empty()) rows.push_back(std::move(cells));
    at = end;
  }
  return rows;
}

// The row whose first cell (the Server column) is `label`, or nullopt.
std::optional<Row> serverRow(const std::vector<Row>& rows, const std::string& label) {
  for (const Row& row : rows)
    if (textOf(row[0]) == label) return row;
  return std::nullopt;
}

// Each server's row has its address and, in the State column, the state
// badge (`<span class="state state-X">X</span>`); the refused server's Check
// column says why.
void checkServers(const std::string& html, const std::map<std::string, uint16_t>& ports,
                  const std::map<std::string, std::string>& states) {
  const std::vector<Row> rows = tableRows(html);
  for (const auto& entry : states) {
    // Not a structured binding: CAPTURE's lambda could not capture one in clang.
    const std::string& label = entry.first;
    const std::string& state = entry.second;
    CAPTURE(label);
    auto row = serverRow(rows, label);
    REQUIRE_MESSAGE(row.has_value(), "no table row for server " << label);
    REQUIRE(row->size() == 8);  // Server, Address, State, Weight, Ramp, Active, Check, Last
    CHECK(textOf((*row)[1]) == "127.0.0.1:" + std::to_string(ports.at(label)));
    CHECK((*row)[2] == "<span class=\"state state-" + state + "\">" + state + "</span>");
    if (state == "down") CHECK(textOf((*row)[6]) == "connect refused");
  }
}

// The certificate row of listener `listener` (Presented by, Subject, Names,
// File, Expires, Days left) says what the certificate file does.
void checkCertificate(const std::string& html, const std::string& listener,
                      const IssuedCertificate& issued, const std::string& subject) {
  std::optional<Row> row;
  for (const Row& candidate : tableRows(html))
    if (candidate.size() == 6 && textOf(candidate[0]) == "listener " + listener) row = candidate;
  REQUIRE_MESSAGE(row.has_value(), "no certificate row for listener " << listener);
  CHECK(textOf((*row)[1]) == subject);
  CHECK(textOf((*row)[2]) == subject);
  CHECK(textOf((*row)[3]) == issued.certificate);
  CHECK(textOf((*row)[4]) == notAfter(issued.certificate));
  const std::string days = textOf((*row)[5]);
  CHECK((days == "29" || days == "30"));  // issued for 30 days, to the second
}

// The element with this id ("<p id=\"refresh\" ...>text</p>"), as text.
std::string elementText(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "<absent>";
  const size_t start = dom.find('>', at) + 1;
  return textOf(dom.substr(start, dom.find("</p>", start) - start));
}

}  // namespace

TEST_CASE("status page: Chromium renders every server with its state, and a screenshot is kept") {
  const auto chromium = findProgram("chromium");
  REQUIRE_MESSAGE(chromium.has_value(),
                  "chromium is not installed: this test needs headless Chromium "
                  "(Debian: apt-get install chromium; CI installs it from .ci/packages-test.txt)");

  HttpBackend up("pay-a", [](const HttpMessage&, int) { return httpResponse(200, "pay-a"); });
  HttpBackend to_drain("pay-c", [](const HttpMessage&, int) { return httpResponse(200, "pay-c"); });
  uint16_t refusing_port = 0;
  Fd refusing = refusingPort(refusing_port);
  const std::map<std::string, uint16_t> ports{
      {"pay-a", up.port()}, {"pay-b", refusing_port}, {"pay-c", to_drain.port()}};

  TestPki pki;
  const IssuedCertificate api = pki.issue("api", {"api.example.com"});
  std::string yaml =
      "global: { workers: 1, log: { level: debug }, admin: { listen: 127.0.0.1:0, token: " +
      kAdminToken +
      " } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
      "  - { name: secure, listen: 127.0.0.1:0, protocol: http, upstream: pool,\n"
      "      tls: { certificate: " +
      api.certificate + ", key: " + api.key +
      " } }\n"
      "upstreams:\n  pool:\n    health_check: { type: tcp, interval: 200ms }\n    servers:\n";
  for (const auto& [name, port] : ports)
    yaml += "      - { name: " + name + ", address: 127.0.0.1:" + std::to_string(port) + " }\n";
  Proxy proxy(yaml);
  const uint16_t admin = proxy.adminPort();

  REQUIRE(proxy.process().waitForText("server pay-a down -> up: first check passed"));
  REQUIRE(proxy.process().waitForText("server pay-b stays down: first check failed"));
  auto drained = adminPost(admin, "/api/upstreams/pool/servers/pay-c/drain");
  REQUIRE(drained);
  CHECK(drained->status == 200);
  CHECK(drained->body.find("\"admin_drain\":true") != std::string::npos);
  REQUIRE(proxy.process().waitForText("server pay-c drained by the admin API"));

  // The page as served, before any script runs, marks them the same way.
  const std::map<std::string, std::string> expected{
      {"pay-a", "up"}, {"pay-b", "down"}, {"pay-c", "drained"}};
  auto served = callOnce(admin, "GET", "/status");
  REQUIRE(served);
  CHECK(served->status == 200);
  checkServers(served->body, ports, expected);
  checkCertificate(served->body, "secure", api, "api.example.com");

  TempDir scratch;  // Chromium's profiles and output; the artifacts are copies
  const std::string url = "http://127.0.0.1:" + std::to_string(admin) + "/status";

  // The DOM after the page's script has had 3 s of virtual time: its first
  // refresh from /status.json (due after 2 s) has replaced the server-side tables.
  const std::string dom_path = scratch.path() + "/status-dom.html";
  std::string diagnostics;
  const int dumped =
      runChromium(*chromium, scratch.path() + "/dom", {"--dump-dom"}, url, dom_path, diagnostics);
  CAPTURE(diagnostics);
  REQUIRE(dumped == 0);
  const std::string dom = readFile(dom_path);
  keepArtifact(dom_path, "status-dom.html");
  REQUIRE(dom.find("<title>fulcrum status</title>") != std::string::npos);
  CHECK(elementText(dom, "refresh").rfind("updated ", 0) == 0);  // the script's refresh ran

  checkServers(dom, ports, expected);
  checkCertificate(dom, "secure", api, "api.example.com");
  CHECK(dom.find("round_robin \u00b7 1/3 usable</small>") != std::string::npos);

  const std::string png_path = scratch.path() + "/status.png";
  diagnostics.clear();
  const int shot = runChromium(*chromium, scratch.path() + "/shot",
                               {"--screenshot=" + png_path, "--window-size=1280,900"}, url,
                               scratch.path() + "/screenshot-stdout.txt", diagnostics);
  CAPTURE(diagnostics);
  CHECK(shot == 0);
  REQUIRE_MESSAGE(std::filesystem::exists(png_path), "no screenshot at " << png_path);
  const std::string png = readFile(png_path);
  CHECK(png.size() > 8);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  const std::string kept = keepArtifact(png_path, "status.png");
  CHECK(readFile(kept) == png);
}
