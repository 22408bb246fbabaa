// listeners[].tls in the config: parsed with relative files taken from the
// config's folder, and every file read by the check, with errors and
// expiry warnings at the file:line:column of the key that names the file.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "balance/registry.h"
#include "config/loader.h"
#include "config/tls_check.h"
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
