// A listener's TLS context from real files made by the openssl CLI: SNI
// picks the certificate (exact, then one-label wildcard, else the first),
// and every broken file is refused with its name and the reason.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "support/test_pki.h"
#include "tls/server_context.h"

using namespace fulcrum::tls;
using fulcrum::test::TestPki;

TEST_CASE("tls context: SNI picks exact names, then wildcards, else the first") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  auto wild = pki.issue("wild", {"*.shop.example.com", "shop.example.com"});
  ServerSettings settings;
  settings.certificates = {{api.certificate, api.key}, {wild.certificate, wild.key}};
  std::string why;
  auto context = ServerContext::load(settings, why);
  REQUIRE_MESSAGE(context, why);
  CHECK(context->pick("api.example.com") == 0);
  CHECK(context->pick("API.Example.COM") == 0);
  CHECK(context->pick("a.shop.example.com") == 1);
  CHECK(context->pick("shop.example.com") == 1);
  CHECK(context->pick("a.b.shop.example.com") == 0);  // a wildcard is one label
  CHECK(context->pick("unknown.test") == 0);
  CHECK(context->pick("") == 0);

  REQUIRE(context->certificates().size() == 2);
  const CertificateInfo& info = context->certificates()[1];
  CHECK(info.subject == "*.shop.example.com");
  CHECK(info.names == std::vector<std::string>{"*.shop.example.com", "shop.example.com"});
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  CHECK(info.not_after > now + 29 * 86400);
  CHECK(info.not_after < now + 31 * 86400);
  CHECK(info.file == wild.certificate);
}

TEST_CASE("tls context: broken files are refused with the file and the reason") {
  TestPki pki;
  auto api = pki.issue("api", {"api.example.com"});
  std::string why;
  ServerSettings settings;

  settings.certificates = {{pki.dir() + "/missing.pem", api.key}};
  CHECK_FALSE(ServerContext::load(settings, why));
  CHECK(why.rfind(pki.dir() + "/missing.pem: cannot read a PEM certificate chain", 0) == 0);

  settings.certificates = {{api.certificate, pki.strayKey("other")}};
  CHECK_FALSE(ServerContext::load(settings, why));
  CHECK(why.find("other.key: does not match the certificate " + api.certificate) !=
        std::string::npos);

  settings.certificates = {{api.certificate, api.certificate}};  // no key in it
  CHECK_FALSE(ServerContext::load(settings, why));
  CHECK(why.find("api.pem: cannot read a PEM private key") != std::string::npos);

  settings.certificates = {{api.certificate, api.key}};
  settings.ciphers = "NOT-A-CIPHER";
  CHECK_FALSE(ServerContext::load(settings, why));
  CHECK(why.rfind("ciphers: ", 0) == 0);

  settings.ciphers.clear();
  settings.client_verify = ClientVerify::Required;
  settings.client_ca = pki.dir() + "/no-ca.pem";
  CHECK_FALSE(ServerContext::load(settings, why));
  CHECK(why.rfind(pki.dir() + "/no-ca.pem: cannot read the client CA certificates", 0) == 0);
}

TEST_CASE("tls context: an expired certificate still loads and says when it ended") {
  TestPki pki;
  auto old = pki.issue("old", {"old.example.com"}, 0);
  ServerSettings settings;
  settings.certificates = {{old.certificate, old.key}};
  std::string why;
  auto context = ServerContext::load(settings, why);
  REQUIRE_MESSAGE(context, why);
  CHECK(context->certificates()[0].not_after == 1580515200);  // 2020-02-01T00:00:00Z
}
