// listeners[].tls in the config: parsed with relative files taken from the
// config's folder, and every file read by the check, with errors and
// expiry warnings at the file:line:column of the key that names the file.
#include <doctest/doctest.h>

#include <ctime>
#include <string>
#include <vector>

#include "balance/registry.h"
#include "config/loader.h"
#include "config/tls_check.h"
#include "config/tls_loader.h"
#include "config/warnings.h"
#include "support/test_pki.h"

using namespace fulcrum::config;
using fulcrum::test::TestPki;

namespace {

// The config as if it were the file `pki.dir()/fulcrum.yaml`.
LoadResult loadBeside(const TestPki& pki, const std::string& tls) {
  const std::string yaml =
      "listeners:\n"
      "  - name: edge\n"
      "    listen: 127.0.0.1:0\n"
      "    upstream: pool\n"
      "    tls: " +
      tls +
      "\n"
      "upstreams:\n  pool:\n    servers:\n      - { address: 127.0.0.1:9001 }\n";
  return loadConfigText(yaml, pki.dir() + "/fulcrum.yaml", fulcrum::balance::strategyNames());
}

// An upstream "pool" with `tls` (a flow mapping) and `servers` (address
// texts), as if the file were `pki.dir()/fulcrum.yaml`. The tls mapping
// starts at line 7, column 10.
LoadResult loadUpstreamBeside(const TestPki& pki, const std::string& tls,
                              const std::vector<std::string>& servers = {"127.0.0.1:9001"}) {
  std::string yaml =
      "listeners:\n"
      "  - name: edge\n"
      "    listen: 127.0.0.1:0\n"
      "    upstream: pool\n"
      "upstreams:\n"
      "  pool:\n"
      "    tls: " +
      tls + "\n    servers:\n";
  for (const std::string& server : servers) yaml += "      - { address: " + server + " }\n";
  return loadConfigText(yaml, pki.dir() + "/fulcrum.yaml", fulcrum::balance::strategyNames());
}

std::string errorsOf(const LoadResult& result) {
  std::string text;
  for (const auto& error : result.errors) text += error.toString() + "\n";
  return text;
}

}  // namespace

TEST_CASE("tls config: relative files are read from the config's folder") {
  TestPki pki;
  pki.issue("api", {"api.example.com"});
  pki.issue("shop", {"shop.example.com"});
  LoadResult single = loadBeside(pki, "{ certificate: api.pem, key: api.key }");
  REQUIRE_MESSAGE(single.config, errorsOf(single));
  const ListenerTlsConfig& tls = single.config->listeners[0].tls;
  CHECK(tls.enabled);
  REQUIRE(tls.settings.certificates.size() == 1);
  CHECK(tls.settings.certificates[0].certificate == pki.dir() + "/api.pem");
  CHECK(tls.handshake_timeout == std::chrono::seconds(10));
  CHECK(tls.settings.min_version == TLS1_2_VERSION);

  LoadResult listed = loadBeside(
      pki, "{ certificates: [ { certificate: api.pem, key: api.key }, { certificate: " + pki.dir() +
               "/shop.pem, key: shop.key } ], min_version: \"1.3\", handshake_timeout: 3s,"
               " session_tickets: false }");
  REQUIRE_MESSAGE(listed.config, errorsOf(listed));
  const ListenerTlsConfig& two = listed.config->listeners[0].tls;
  REQUIRE(two.settings.certificates.size() == 2);
  CHECK(two.settings.certificates[1].certificate == pki.dir() + "/shop.pem");
  CHECK(two.settings.min_version == TLS1_3_VERSION);
  CHECK(two.handshake_timeout == std::chrono::seconds(3));
  CHECK_FALSE(two.settings.session_tickets);
}

TEST_CASE("tls config: a broken file is an error at the key that names it") {
  TestPki pki;
  pki.issue("api", {"api.example.com"});
  pki.strayKey("stray");
  const std::string file = pki.dir() + "/fulcrum.yaml";

  LoadResult missing = loadBeside(pki, "{ certificate: nope.pem, key: api.key }");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].toString() == file + ":5:25: listeners[0].tls.certificate: " + pki.dir() +
                                            "/nope.pem: cannot open: No such file or directory");

  LoadResult mismatch = loadBeside(pki, "{ certificate: api.pem, key: stray.key }");
  REQUIRE(mismatch.errors.size() == 1);
  CHECK(mismatch.errors[0].toString().rfind(file + ":5:39: listeners[0].tls.key: " + pki.dir() +
                                                "/stray.key: does not match the certificate " +
                                                pki.dir() + "/api.pem",
                                            0) == 0);

  LoadResult second = loadBeside(
      pki,
      "{ certificates: [ { certificate: api.pem, key: api.key }, { certificate: api.pem, "
      "key: stray.key } ] }");
  REQUIRE(second.errors.size() == 1);
  CHECK(second.errors[0].toString().find("listeners[0].tls.certificates[1].key: ") !=
        std::string::npos);

  LoadResult bad_keys = loadBeside(
      pki, "{ certificate: api.pem, key: api.key, min_version: \"1.1\", client_verify: required }");
  const std::string text = errorsOf(bad_keys);
  CHECK(text.find("listeners[0].tls.min_version: expected \"1.2\" or \"1.3\", got '1.1'") !=
        std::string::npos);
  CHECK(text.find("listeners[0].tls.client_ca: client_verify needs client_ca") !=
        std::string::npos);
}

TEST_CASE("tls config: an expired certificate is an error, one expiring soon a warning") {
  TestPki pki;
  pki.issue("old", {"old.example.com"}, 0);
  pki.issue("soon", {"soon.example.com"}, 10);
  pki.issue("fine", {"fine.example.com"}, 30);
  LoadResult expired = loadBeside(pki, "{ certificate: old.pem, key: old.key }");
  REQUIRE(expired.errors.size() == 1);
  CHECK(expired.errors[0].toString().find(
            "listeners[0].tls.certificate: " + pki.dir() +
            "/old.pem: the certificate for old.example.com expired on 2020-02-01 00:00 UTC") !=
        std::string::npos);

  LoadResult soon = loadBeside(pki, "{ certificate: soon.pem, key: soon.key }");
  REQUIRE_MESSAGE(soon.config, errorsOf(soon));
  auto found = warnings(*soon.config);
  REQUIRE(found.size() == 1);
  CHECK(found[0].toString().find("listeners[0].tls.certificate: warning: " + pki.dir() +
                                 "/soon.pem: the certificate for soon.example.com expires on") !=
        std::string::npos);

  LoadResult fine = loadBeside(pki, "{ certificate: fine.pem, key: fine.key }");
  REQUIRE_MESSAGE(fine.config, errorsOf(fine));
  CHECK(warnings(*fine.config).empty());
}

TEST_CASE("tls config: an upstream's tls names its files beside the config, verify on by default") {
  TestPki pki;
  pki.issue("client", {"fulcrum"}, 30, true);
  LoadResult plain = loadUpstreamBeside(pki, "{ ca: ca.pem }");
  REQUIRE_MESSAGE(plain.config, errorsOf(plain));
  const UpstreamTlsConfig& tls = plain.config->upstreams[0].tls;
  CHECK(tls.enabled);
  CHECK(tls.settings.ca == pki.dir() + "/ca.pem");
  CHECK(tls.settings.verify);
  CHECK(tls.server_name.empty());
  CHECK(serverTlsName(tls, plain.config->upstreams[0].servers[0]) == "127.0.0.1");

  LoadResult full = loadUpstreamBeside(
      pki,
      "{ ca: ca.pem, server_name: Payments.Internal., certificate: client.pem, key: "
      "client.key }",
      {"localhost:9001"});
  REQUIRE_MESSAGE(full.config, errorsOf(full));
  const UpstreamTlsConfig& mtls = full.config->upstreams[0].tls;
  CHECK(mtls.server_name == "payments.internal");
  CHECK(mtls.settings.client.certificate == pki.dir() + "/client.pem");
  CHECK(mtls.settings.client.key == pki.dir() + "/client.key");
  CHECK(serverTlsName(mtls, full.config->upstreams[0].servers[0]) == "payments.internal");

  // Without server_name, a server written by name is verified for it.
  LoadResult named = loadUpstreamBeside(pki, "{ ca: ca.pem }", {"LocalHost:9001"});
  REQUIRE_MESSAGE(named.config, errorsOf(named));
  CHECK(serverTlsName(named.config->upstreams[0].tls, named.config->upstreams[0].servers[0]) ==
        "localhost");
}

TEST_CASE("tls config: an upstream's tls keys are checked where they are written") {
  TestPki pki;
  pki.issue("client", {"fulcrum"}, 30, true);
  const std::string file = pki.dir() + "/fulcrum.yaml";
  LoadResult half = loadUpstreamBeside(pki, "{ certificate: client.pem }");
  CHECK(errorsOf(half) ==
        file + ":7:10: upstreams.pool.tls.key: a key file is needed with certificate\n");

  LoadResult bad =
      loadUpstreamBeside(pki, "{ server_name: \"*.internal\", verify: maybe, ciphers: ALL }");
  const std::string text = errorsOf(bad);
  CHECK(text.find(file + ":7:25: upstreams.pool.tls.server_name: expected a host name or an IP "
                         "address, got '*.internal'") != std::string::npos);
  CHECK(text.find("upstreams.pool.tls.verify: ") != std::string::npos);
  CHECK(text.find("upstreams.pool.tls.ciphers: ") != std::string::npos);

  LoadResult no_host = loadUpstreamBeside(pki, "{ ca: ca.pem }", {":9001"});
  CHECK(errorsOf(no_host).find("upstreams.pool.servers[0].address: names no host for TLS") !=
        std::string::npos);
}

TEST_CASE("tls config: an upstream's files are read by the check, errors at their keys") {
  TestPki pki;
  pki.issue("client", {"fulcrum"}, 30, true);
  pki.issue("old", {"fulcrum"}, 0, true);
  pki.strayKey("stray");
  const std::string file = pki.dir() + "/fulcrum.yaml";

  LoadResult missing = loadUpstreamBeside(pki, "{ ca: nope.pem }");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].toString() == file + ":7:16: upstreams.pool.tls.ca: " + pki.dir() +
                                            "/nope.pem: cannot open: No such file or directory");

  LoadResult mismatch =
      loadUpstreamBeside(pki, "{ ca: ca.pem, certificate: client.pem, key: stray.key }");
  REQUIRE(mismatch.errors.size() == 1);
  CHECK(mismatch.errors[0].toString().starts_with(
      file + ":7:54: upstreams.pool.tls.key: " + pki.dir() +
      "/stray.key: does not match the certificate " + pki.dir() + "/client.pem"));

  LoadResult expired = loadUpstreamBeside(pki, "{ certificate: old.pem, key: old.key }");
  REQUIRE(expired.errors.size() == 1);
  CHECK(expired.errors[0].toString() ==
        file + ":7:25: upstreams.pool.tls.certificate: " + pki.dir() +
            "/old.pem: the certificate for fulcrum expired on 2020-02-01 00:00 UTC");
}

TEST_CASE("tls config: verify false and a client certificate expiring soon are warnings") {
  TestPki pki;
  pki.issue("soon", {"fulcrum"}, 10, true);
  const std::string file = pki.dir() + "/fulcrum.yaml";
  LoadResult loaded =
      loadUpstreamBeside(pki, "{ verify: false, certificate: soon.pem, key: soon.key }");
  REQUIRE_MESSAGE(loaded.config, errorsOf(loaded));
  auto found = warnings(*loaded.config);
  REQUIRE(found.size() == 2);
  CHECK(found[0].toString().starts_with(
      file +
      ":7:20: upstreams.pool.tls.verify: warning: the servers' certificates are not "
      "verified"));
  CHECK(found[1].toString().starts_with(
      file + ":7:40: upstreams.pool.tls.certificate: warning: " + pki.dir() +
      "/soon.pem: the certificate for fulcrum "
      "expires on"));

  LoadResult verified = loadUpstreamBeside(pki, "{ ca: ca.pem }");
  REQUIRE_MESSAGE(verified.config, errorsOf(verified));
  CHECK(warnings(*verified.config).empty());
}
