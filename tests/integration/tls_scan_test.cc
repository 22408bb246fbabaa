// testssl.sh (Debian's testssl.sh) scans a TLS listener with the default
// settings, through the real binary: protocols, cipher categories, the
// server's defaults and certificate, and the known vulnerabilities. The
// test fails on any finding rated HIGH or CRITICAL, bar one that speaks of
// the test CA rather than of the listener (see kTestCaFindings).
//
// testssl.sh takes a minute or more, so this test has a ctest TIMEOUT of
// its own (tests/CMakeLists.txt). It targets 127.0.0.1 only: the address
// is given (--ip), no DNS is asked (--nodns none, and NXCONNECT for the
// probes of its own openssl), nothing is fetched (no --phone-out).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/json.h"
#include "support/proxy.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

using namespace fulcrum::test;

namespace {

constexpr const char* kTestssl = "/usr/bin/testssl";

// The test CA publishes no revocation list and runs no OCSP responder,
// so its certificates carry neither URI: testssl.sh rates that HIGH. A
// public CA's certificate has them; nothing a listener sets changes it.
const std::set<std::string> kTestCaFindings = {"cert_revocation"};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The findings of a flat JSON report (--jsonfile), by id.
std::map<std::string, Json> findingsById(const Json& report) {
  std::map<std::string, Json> by_id;
  for (size_t i = 0; i < report.size(); ++i) by_id.emplace(report[i]["id"].str(), report[i]);
  return by_id;
}

}  // namespace

TEST_CASE("tls listener: testssl.sh finds nothing HIGH or CRITICAL with the default settings") {
  REQUIRE_MESSAGE(std::filesystem::exists(kTestssl), "testssl.sh is installed by make test-deps");
  TestPki pki;
  // RSA: six of the nine default TLS 1.2 suites (ECDHE-RSA, DHE-RSA) are
  // offered only with an RSA certificate, and the scan should see them.
  auto leaf = pki.issue("localhost", {"localhost"}, 365, false, KeyType::Rsa2048);
  HttpBackend backend("b1");
  Proxy proxy(tlsHttpConfig(backend.port(), tlsMapping(leaf)));
  const std::string target = "localhost:" + std::to_string(proxy.port("web"));

  TempDir out;
  const std::string report_path = out.path() + "/report.json";
  CommandResult scan = runCommand({"/usr/bin/env",
                                   "NXCONNECT=127.0.0.1:0",
                                   kTestssl,
                                   "--quiet",
                                   "--warnings",
                                   "off",
                                   "--color",
                                   "0",
                                   "--ip",
                                   "127.0.0.1",
                                   "--nodns",
                                   "none",
                                   "--add-ca",
                                   pki.ca(),
                                   "--connect-timeout",
                                   "10",
                                   "--openssl-timeout",
                                   "10",
                                   "--jsonfile",
                                   report_path,
                                   "--protocols",
                                   "--standard",
                                   "--server-defaults",
                                   "--vulnerable",
                                   target},
                                  std::chrono::minutes(8));
  REQUIRE_MESSAGE(scan.status != -1, "testssl.sh did not finish:\n" << scan.output);
  REQUIRE_MESSAGE(std::filesystem::exists(report_path), scan.output);
  const Json report = parseJson(readFile(report_path));

  std::string high;
  for (size_t i = 0; i < report.size(); ++i) {
    const Json& finding = report[i];
    const std::string& severity = finding["severity"].str();
    if ((severity == "HIGH" || severity == "CRITICAL" || severity == "FATAL") &&
        kTestCaFindings.count(finding["id"].str()) == 0)
      high += severity + " " + finding["id"].str() + ": " + finding["finding"].str() + "\n";
  }
  CHECK_MESSAGE(high.empty(), "testssl.sh found:\n" << high << "\nits output:\n" << scan.output);

  // The scan got through: it saw both protocols and nothing older, ran the
  // vulnerability checks, and verified the chain the listener sent.
  const auto by_id = findingsById(report);
  for (const char* id : {"SSLv2", "SSLv3", "TLS1", "TLS1_1"}) {
    REQUIRE_MESSAGE(by_id.count(id) == 1, id);
    CHECK_MESSAGE(by_id.at(id)["finding"].str() == "not offered", id);
  }
  for (const char* id : {"TLS1_2", "TLS1_3"}) {
    REQUIRE_MESSAGE(by_id.count(id) == 1, id);
    CHECK_MESSAGE(by_id.at(id)["finding"].str().rfind("offered", 0) == 0, id);
  }
  for (const char* id : {"heartbleed", "ROBOT", "LOGJAM", "cert_chain_of_trust"}) {
    REQUIRE_MESSAGE(by_id.count(id) == 1, id);
    CHECK_MESSAGE(by_id.at(id)["severity"].str() == "OK", id);
  }
  CHECK(!backend.requests().empty());  // its HTTP checks reached the server
}
