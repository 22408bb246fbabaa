// The admin token through the real proxy: /api calls need it as a bearer
// token (a browser's Basic credentials never mutate), protect_status puts
// /status and /status.json behind it, and a reload applies a new token, or
// its removal, from the next request on.
#include <doctest/doctest.h>
#include <signal.h>

#include <string>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/json.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"

using namespace fulcrum::test;

namespace {

const std::string kDrainPath = "/api/upstreams/pool/servers/pay-a/drain";
const std::string kEnablePath = "/api/upstreams/pool/servers/pay-a/enable";
const std::string kJson = "Content-Type: application/json\r\n";

std::string bearer(const std::string& token) {
  return "Authorization: Bearer " + token + "\r\n";
}

// base64("ops:" + kAdminToken): what a browser sends once the operator
// typed the token as the password.
const std::string kBasic = "Authorization: Basic b3BzOnRlc3QtYWRtaW4tdG9rZW4tMDEyMzQ1Njc4OQ==\r\n";

int status(uint16_t port, const std::string& method, const std::string& path,
           const std::string& fields = "") {
  auto answer = callOnce(port, method, path, fields);
  REQUIRE(answer);
  return answer->status;
}

}  // namespace

TEST_CASE("admin: an /api call needs the bearer token, Basic credentials never mutate") {
  Proxy proxy(adminTestConfig(", token: " + kAdminToken));
  const uint16_t admin = proxy.adminPort();

  for (const std::string& credentials :
       {std::string(""), bearer("not-the-token-at-all"), bearer(kAdminToken + "x"), kBasic}) {
    CAPTURE(credentials);
    auto answer = callOnce(admin, "POST", kDrainPath, credentials + kJson);
    REQUIRE(answer);
    CHECK(answer->status == 401);
    CHECK(answer->field("WWW-Authenticate") == "Bearer");
    CHECK(parseJson(answer->body)["error"].str() == "missing or wrong bearer token");
  }
  CHECK(adminDrained(admin, "pool", "pay-a") == false);
  CHECK(adminRefusals(admin, "token") == 4);

  CHECK(status(admin, "POST", kDrainPath, bearer(kAdminToken) + kJson) == 200);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);
}

TEST_CASE("admin: protect_status puts /status and /status.json behind the token") {
  Proxy proxy(adminTestConfig(", token: " + kAdminToken + ", protect_status: true"));
  const uint16_t admin = proxy.adminPort();

  for (const char* path : {"/status", "/status.json"}) {
    CAPTURE(path);
    for (const std::string& credentials :
         {std::string(""), bearer("not-the-token-at-all"),
          // base64("ops:wrong-password")
          std::string("Authorization: Basic b3BzOndyb25nLXBhc3N3b3Jk\r\n")}) {
      CAPTURE(credentials);
      auto refused = callOnce(admin, "GET", path, credentials);
      REQUIRE(refused);
      CHECK(refused->status == 401);
      // A browser prompts for Basic credentials; scripts send the bearer.
      CHECK(refused->count("WWW-Authenticate") == 2);
      bool basic = false;
      for (const auto& [name, value] : refused->fields)
        basic = basic || (name == "WWW-Authenticate" && value.rfind("Basic realm=", 0) == 0);
      CHECK(basic);
      CHECK(refused->body.find("pay-a") == std::string::npos);
    }
    CHECK(status(admin, "GET", path, bearer(kAdminToken)) == 200);
    CHECK(status(admin, "GET", path, kBasic) == 200);
  }
  CHECK(adminDrained(admin, "pool", "pay-a", bearer(kAdminToken)) == false);
  CHECK(adminRefusals(admin, "token") == 6);
  // Scrapers and load balancers go on without it.
  CHECK(status(admin, "GET", "/metrics") == 200);
  CHECK(status(admin, "GET", "/healthz") == 200);
}

TEST_CASE("admin: a reload applies a new token, or its removal, at once") {
  Proxy proxy(adminTestConfig());
  const uint16_t admin = proxy.adminPort();
  Reloader reloader(proxy, 1);
  const std::string first = "first-admin-token-0123456789";
  const std::string second = "second-admin-token-0123456789";

  CHECK(status(admin, "POST", kDrainPath, bearer(first) + kJson) == 403);

  REQUIRE(reloader.succeeds(adminTestConfig(", token: " + first)));
  REQUIRE(proxy.process().waitForText("admin: the new global.admin.token applies now"));
  CHECK(status(admin, "POST", kDrainPath, bearer(first) + kJson) == 200);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);

  REQUIRE(reloader.succeeds(adminTestConfig(", token: " + second)));
  CHECK(status(admin, "POST", kEnablePath, bearer(first) + kJson) == 401);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);  // the old token changed nothing
  CHECK(status(admin, "POST", kEnablePath, bearer(second) + kJson) == 200);
  CHECK(adminDrained(admin, "pool", "pay-a") == false);

  REQUIRE(reloader.succeeds(adminTestConfig()));
  REQUIRE(proxy.process().waitForText("admin: /api is disabled: global.admin.token was removed"));
  CHECK(status(admin, "POST", kDrainPath, bearer(second) + kJson) == 403);
  CHECK(adminDrained(admin, "pool", "pay-a") == false);

  // Done by hand: the Reloader reads /status.json, which needs the token
  // from this reload on. The policy is in place before the line is logged.
  replaceConfig(proxy, adminTestConfig(", token: " + second + ", protect_status: true"));
  proxy.process().signal(SIGHUP);
  REQUIRE(nthText(proxy.process(), "configuration reloaded", 4));
  CHECK(status(admin, "GET", "/status.json") == 401);
  CHECK(status(admin, "GET", "/status.json", bearer(second)) == 200);
}
