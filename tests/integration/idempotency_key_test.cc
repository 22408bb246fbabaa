// The idempotency key that no Connection header can take away, through the
// real proxy: the failing server is the only primary and the answering one
// a backup, so a retry, if any, always lands on the backup, and both record
// what they received byte for byte (RawBackend).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/raw_backend.h"

using namespace fulcrum::test;

namespace {

const RawAnswer kCreated{"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"};

}  // namespace

TEST_CASE("payments: an Idempotency-Key named in Connection still reaches every server") {
  // The request from the issue: keyed, and retried after the first server
  // dropped it, so both servers must see the key.
  const std::string body = "{\"amount\":1250}";
  const std::string request =
      "POST /v1/payments HTTP/1.1\r\nHost: t\r\nIdempotency-Key: pay-123\r\n"
      "Connection: keep-alive, Idempotency-Key\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string expected =
      "POST /v1/payments HTTP/1.1\r\nHost: t\r\nIdempotency-Key: pay-123\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  RawBackend failing(closeWithoutAnswer());
  RawBackend backup(kCreated);
  Proxy proxy(HttpConfig{.servers = {failing.port()}, .backups = {backup.port()}}.yaml());

  auto response = rawExchange(proxy.port("web"), request);
  REQUIRE(response);
  CHECK(rawStatus(response) == 201);
  CHECK(rawField(*response, "X-Fulcrum-Attempts") == "2");
  const std::vector<std::string> first = failing.requests();
  const std::vector<std::string> second = backup.requests();
  REQUIRE(first.size() == 1);
  REQUIRE(second.size() == 1);
  CHECK(withoutForwardingFields(first[0]) == expected);
  CHECK(withoutForwardingFields(second[0]) == expected);
  CHECK(first[0] == second[0]);  // the very same bytes, request id included

  // The same payment without a key is not repeated: its outcome is unknown.
  std::string unkeyed = request;
  unkeyed.erase(unkeyed.find("Idempotency-Key: pay-123\r\n"), 26);
  auto unknown = rawExchange(proxy.port("web"), unkeyed);
  CHECK(rawStatus(unknown) == 502);
  CHECK(rawField(*unknown, "X-Fulcrum-Outcome") == "unknown");
  CHECK(failing.requests().size() == 2);
  CHECK(backup.requests().size() == 1);
}
