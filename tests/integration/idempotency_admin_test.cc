// The idempotency ledger's admin API: an operator who looked up a payment
// whose outcome was unknown sees its key held, and releases it, through
// the real proxy's admin listener (the token required).
#include <doctest/doctest.h>

#include <string>

#include "support/admin_api.h"
#include "support/http_configs.h"
#include "support/ledger_requests.h"
#include "support/proxy.h"
#include "support/raw_backend.h"

using namespace fulcrum::test;

namespace {

// The raw one (raw_backend.h), not the admin API's of the same name.
std::optional<std::string> send(uint16_t port, const std::string& request) {
  std::optional<std::string> (*raw)(uint16_t, const std::string&, bool) = &rawExchange;
  return raw(port, request, false);
}

}  // namespace

TEST_CASE("ledger: the admin API shows a held key and an operator releases it") {
  RawBackend backend([](size_t index, const std::string&) {
    return index == 0 ? closeWithoutAnswer() : charge(index);
  });
  HttpConfig config;
  config.servers = {backend.port()};
  config.admin_extra = ", token: " + kAdminToken;
  config.routes =
      "      - match: { path_prefix: /v1/payments }\n        upstream: pool\n"
      "        idempotency: { scope: header:Authorization }\n";
  Proxy proxy(config.yaml());
  const uint16_t port = proxy.port("web");
  const uint16_t admin = proxy.adminPort();
  const std::string alice = "Authorization: Bearer alice\r\n";
  REQUIRE(rawStatus(send(port, keyedPost("lost", "{}", alice))) == 502);
  REQUIRE(rawStatus(send(port, keyedPost("lost", "{}", alice))) == 409);

  const std::string scope = adminApiFields() + "X-Idempotency-Scope: Bearer alice\r\n";
  auto shown = callOnce(admin, "GET", "/api/idempotency/lost", scope);
  REQUIRE(shown);
  CHECK(shown->status == 200);
  CHECK(shown->body == "{\"state\":\"unknown\",\"released\":false}");
  // Another scope is another key; without the token, nothing.
  CHECK(callOnce(admin, "GET", "/api/idempotency/lost", adminApiFields())->status == 404);
  CHECK(callOnce(admin, "GET", "/api/idempotency/lost")->status == 401);

  auto released = callOnce(admin, "POST", "/api/idempotency/lost/release", scope);
  REQUIRE(released);
  CHECK(released->status == 200);
  CHECK(released->body == "{\"state\":\"unknown\",\"released\":true}");
  // The next repeat goes to a server.
  CHECK(responseBody(send(port, keyedPost("lost", "{}", alice))) == "{\"charge\":1}");
  auto done = callOnce(admin, "GET", "/api/idempotency/lost", scope);
  CHECK(done->body == "{\"state\":\"done\",\"status\":201,\"released\":false}");
}
