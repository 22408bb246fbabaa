// What TLS listeners tell the operator, through the real binary: every
// handshake counted in fulcrum_tls_handshakes_total under the result it
// ended with (real clients: curl, curl offering TLS 1.1 only, curl with a
// cipher the listener does not take, curl that does not trust the
// certificate, curl without a required client certificate, plain HTTP on
// the TLS port, a client that hangs up, one that stalls), failures logged
// per connection at debug only and sampled at info; the counts going on
// across a reload; and each certificate's expiry on /metrics, /status and
// /status.json, following a renewed file at reload.
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "support/curl.h"
#include "support/http.h"
#include "support/http_configs.h"
#include "support/json.h"
#include "support/process.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "support/wait.h"
#include "tls/handshake_result.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// Every label value of the result, in the product's order.
std::vector<std::string> allResults() {
  std::vector<std::string> results;
  for (size_t r = 0; r < fulcrum::tls::kHandshakeResults; ++r)
    results.emplace_back(
        fulcrum::tls::handshakeResultLabel(static_cast<fulcrum::tls::HandshakeResult>(r)));
  return results;
}

std::string files(const IssuedCertificate& issued) {
  return "certificate: " + issued.certificate + ", key: " + issued.key;
}

// An HTTP listener "web" with `tls` (a flow mapping) in front of `backend`,
// and `more_listeners` (YAML list items) beside it.
std::string tlsYaml(uint16_t backend, const std::string& tls, unsigned workers,
                    const std::string& more_listeners = "", const std::string& level = "debug") {
  HttpConfig config{.servers = {backend}, .workers = workers};
  config.listener_extra = "    tls: " + tls + "\n";
  std::string yaml = config.yaml();
  yaml.insert(yaml.find("upstreams:\n"), more_listeners);
  const std::string debug = "level: debug";
  yaml.replace(yaml.find(debug), debug.size(), "level: " + level);
  return yaml;
}

double handshakes(const std::map<std::string, double>& samples, const std::string& listener,
                  const std::string& result) {
  return sumSeries(samples, "fulcrum_tls_handshakes_total",
                   {"listener=\"" + listener + "\"", "result=\"" + result + "\""});
}

// Scrapes until every result of `listener` has the count `expected` gives
// it (0 when not named), and returns that scrape. A failed handshake is
// counted when the worker reads the client's last bytes, which may be a
// moment after the client has given up.
std::map<std::string, double> waitForHandshakes(uint16_t admin, const std::string& listener,
                                                const std::map<std::string, double>& expected) {
  std::map<std::string, double> scraped;
  const auto reached = [&] {
    scraped = scrapeSamples(admin);
    for (const std::string& result : allResults()) {
      auto want = expected.find(result);
      if (handshakes(scraped, listener, result) != (want == expected.end() ? 0 : want->second))
        return false;
    }
    return true;
  };
  if (!pollUntil(reached, 10s, 5ms, 200ms)) {
    for (const std::string& result : allResults()) {
      CAPTURE(result);
      auto want = expected.find(result);
      CHECK(handshakes(scraped, listener, result) == (want == expected.end() ? 0 : want->second));
    }
  }
  return scraped;
}

// Sends `bytes` on a new connection to `port` and keeps it open.
Fd sendPlain(uint16_t port, const std::string& bytes) {
  Fd fd = connectLoopback(port);
  REQUIRE(fd);
  REQUIRE(writeAll(fd.get(), bytes));
  return fd;
}

// The word after the timestamp: "debug", "info", "warn" or "error".
std::string levelOf(const std::string& line) {
  const size_t start = line.find(' ');
  if (start == std::string::npos) return "";
  return line.substr(start + 1, line.find(' ', start + 1) - start - 1);
}

std::vector<std::string> handshakeLines(ChildProcess& process, const std::string& level) {
  std::vector<std::string> found;
  for (const std::string& line : process.lines())
    if (line.find("TLS handshake") != std::string::npos && levelOf(line) == level)
      found.push_back(line);
  return found;
}

double unixTime(const std::string& iso) {
  std::tm parts{};
  REQUIRE(strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts) != nullptr);
  return static_cast<double>(timegm(&parts));
}

double expiry(const std::map<std::string, double>& samples, const std::string& scope,
              const std::string& name) {
  auto found = samples.find("fulcrum_tls_certificate_expiry_timestamp_seconds{scope=\"" + scope +
                            "\",name=\"" + name + "\"}");
  return found == samples.end() ? -1 : found->second;
}

Json statusJson(uint16_t admin) {
  HttpMessage answer = httpGet(admin, "/status.json");
  REQUIRE(answer.status == 200);
  return parseJson(answer.body);
}

}  // namespace

TEST_CASE("tls metrics: every handshake is counted under its result, failures logged at debug") {
  const auto promtool = findProgram("promtool");
  REQUIRE_MESSAGE(promtool.has_value(), "promtool is not installed (Debian: prometheus)");
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  auto client = pki.issue("client", {"payments-client"}, 30, true);
  HttpBackend backend("b1");
  const std::string mtls =
      "  - name: mtls\n    listen: 127.0.0.1:0\n    protocol: http\n"
      "    tls: { " +
      files(api) + ", client_ca: " + pki.ca() + ", client_verify: required }\n    upstream: pool\n";
  Proxy proxy(tlsYaml(backend.port(), "{ " + files(api) + ", handshake_timeout: 300ms }", 2, mtls));
  const uint16_t port = proxy.port("web");
  const uint16_t mtls_port = proxy.port("mtls");
  const uint16_t admin = proxy.adminPort();

  // Every result is there from the start, at 0, on TLS listeners only.
  waitForHandshakes(admin, "web", {});
  waitForHandshakes(admin, "mtls", {});

  const std::string name = "api.example.com";
  CHECK(curlGet(port, name, pki.ca(), "/a").exit == 0);
  CHECK(curlGet(port, name, pki.ca(), "/b").exit == 0);
  CHECK(curlGet(port, name, "", "/untrusted").exit == 60);  // the system's CAs: not ours
  CHECK(curlGet(port, name, pki.ca(), "/old", {"--tls-max", "1.1"}).exit == 35);
  CHECK(curlGet(port, name, pki.ca(), "/weak", {"--tls-max", "1.2", "--ciphers", "AES128-SHA"})
            .exit == 35);
  Fd plain = sendPlain(port, "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  connectLoopback(port);  // and closed at once
  Fd stalled = connectLoopback(port);
  REQUIRE(stalled);
  auto scraped = waitForHandshakes(admin, "web",
                                   {{"ok", 2},
                                    {"server_certificate", 1},
                                    {"protocol_version", 1},
                                    {"no_shared_cipher", 1},
                                    {"not_tls", 1},
                                    {"peer_closed", 1},
                                    {"timeout", 1}});
  // A connection counts as accepted once its handshake is done.
  CHECK(sumSeries(scraped, "fulcrum_downstream_connections_total", {"listener=\"web\""}) == 2);

  CHECK(curlGet(mtls_port, name, pki.ca(), "/anonymous").exit != 0);
  CHECK(curlGet(mtls_port, name, pki.ca(), "/signed",
                {"--cert", client.certificate, "--key", client.key})
            .exit == 0);
  waitForHandshakes(admin, "mtls", {{"ok", 1}, {"client_certificate", 1}});
  CHECK(backend.requests().size() == 3);

  // Seven failures: each at debug, none at info, warn or error.
  const auto debug = handshakeLines(proxy.process(), "debug");
  CHECK(debug.size() == 7);
  for (const char* result : {"(not_tls)", "(timeout)", "(client_certificate)"}) {
    CAPTURE(result);
    CHECK(std::any_of(debug.begin(), debug.end(), [&](const std::string& line) {
      return line.find(result) != std::string::npos;
    }));
  }
  for (const char* level : {"info", "warn", "error"}) {
    CAPTURE(level);
    CHECK(handshakeLines(proxy.process(), level).empty());
  }

  HttpMessage page = httpGet(admin, "/metrics");
  REQUIRE(page.status == 200);
  TempDir dir;
  requirePromtoolAccepts(*promtool, dir, "tls.prom", page.body);
}

TEST_CASE(
    "tls metrics: at info level a flood of failed handshakes leaves a sample, not a line each") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  HttpBackend backend("b1");
  Proxy proxy(tlsYaml(backend.port(), "{ " + files(api) + " }", 1, "", "info"));
  const uint16_t port = proxy.port("web");
  constexpr int kScans = 20;
  std::vector<Fd> scans;
  for (int i = 0; i < kScans; ++i) scans.push_back(sendPlain(port, "GET / HTTP/1.0\r\n\r\n"));
  waitForHandshakes(proxy.adminPort(), "web", {{"not_tls", kScans}});
  const auto info = handshakeLines(proxy.process(), "info");
  // One a minute: a second one only if this test ran past a minute.
  REQUIRE_FALSE(info.empty());
  CHECK(info.size() <= 2);
  CHECK(info[0].find("listener web: TLS handshake with 127.0.0.1:") != std::string::npos);
  CHECK(info[0].find("failed (not_tls): http request") != std::string::npos);
}

TEST_CASE("tls metrics: each certificate's expiry on /metrics, /status and /status.json") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"}, 30);
  auto shop = pki.issue("shop", {"*.shop.example.com"}, 5);
  // The same subject as api, expiring sooner (a second key type, say).
  auto api_old = pki.issue("api-old", {"api.example.com"}, 10);
  HttpBackend backend("b1");
  Proxy proxy(tlsYaml(backend.port(),
                      "{ certificates: [ { " + files(api) + " }, { " + files(shop) + " }, { " +
                          files(api_old) + " } ] }",
                      1));
  const uint16_t admin = proxy.adminPort();

  const auto samples = scrapeSamples(admin);
  // One series per subject: api's shows the earlier of its two expiries.
  CHECK(expiry(samples, "listener:web", "api.example.com") ==
        unixTime(notAfter(api_old.certificate)));
  CHECK(expiry(samples, "listener:web", "*.shop.example.com") ==
        unixTime(notAfter(shop.certificate)));
  CHECK(sumSeries(samples, "fulcrum_tls_certificate_expiry_timestamp_seconds") ==
        unixTime(notAfter(api_old.certificate)) + unixTime(notAfter(shop.certificate)));

  Json status = statusJson(admin);
  const Json& certificates = status["listeners"][0]["certificates"];
  REQUIRE(certificates.size() == 3);
  const std::vector<std::pair<IssuedCertificate, int>> expected = {
      {api, 30}, {shop, 5}, {api_old, 10}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const IssuedCertificate& issued = expected[i].first;
    const int days = expected[i].second;
    const Json& entry = certificates[i];
    CAPTURE(issued.certificate);
    CHECK(entry["file"].str() == issued.certificate);
    CHECK(entry["not_after"].str() == notAfter(issued.certificate));
    // Issued for `days` from now to the second: a whole day less once a
    // second has passed.
    CHECK(entry["days_left"].num() <= days);
    CHECK(entry["days_left"].num() >= days - 1);
    CHECK(entry["expires_soon"].boolean() == (days <= 14));
  }
  CHECK(certificates[0]["subject"].str() == "api.example.com");
  CHECK(certificates[1]["subject"].str() == "*.shop.example.com");
  REQUIRE(certificates[1]["names"].size() == 1);
  CHECK(certificates[1]["names"][0].str() == "*.shop.example.com");

  HttpMessage page = httpGet(admin, "/status");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("<h2>Certificates</h2>") != std::string::npos);
  CHECK(page.body.find("<td>" + shop.certificate + "</td>") != std::string::npos);
  CHECK(page.body.find("<td>" + notAfter(shop.certificate) + "</td>") != std::string::npos);
  size_t expiring = 0;
  for (size_t at = 0; (at = page.body.find("<td class=\"num expiring\">", at)) != std::string::npos;
       ++at)
    ++expiring;
  CHECK(expiring == 2);  // shop and api-old
}

TEST_CASE("tls metrics: counts go on across a reload, which reads a renewed certificate") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"}, 5);
  HttpBackend backend("b1");
  const std::string yaml = tlsYaml(backend.port(), "{ " + files(api) + " }", 2);
  Proxy proxy(yaml);
  const uint16_t port = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  CHECK(curlGet(port, "api.example.com", pki.ca(), "/before").exit == 0);
  Fd plain = sendPlain(port, "GET / HTTP/1.1\r\n\r\n");
  waitForHandshakes(admin, "web", {{"ok", 1}, {"not_tls", 1}});
  const std::string old_expiry = notAfter(api.certificate);
  CHECK(statusJson(admin)["listeners"][0]["certificates"][0]["expires_soon"].boolean());

  // Renewed in place, as certbot or an operator would.
  api = pki.issue("api", {"api.example.com"}, 60);
  const std::string renewed = notAfter(api.certificate);
  REQUIRE(renewed != old_expiry);
  Reloader reloader(proxy, 2);
  REQUIRE(reloader.succeeds(yaml));

  auto samples = waitForHandshakes(admin, "web", {{"ok", 1}, {"not_tls", 1}});
  CHECK(expiry(samples, "listener:web", "api.example.com") == unixTime(renewed));
  const Json status = statusJson(admin);
  const Json& certificate = status["listeners"][0]["certificates"][0];
  CHECK(certificate["not_after"].str() == renewed);
  CHECK_FALSE(certificate["expires_soon"].boolean());

  CHECK(curlGet(port, "api.example.com", pki.ca(), "/after").exit == 0);
  waitForHandshakes(admin, "web", {{"ok", 2}, {"not_tls", 1}});
}
