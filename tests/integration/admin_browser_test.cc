// The admin listener is safe from browsers, through the real proxy: what a
// web page can make a browser send (a cross-site "simple" POST, a request
// to a rebound name) is refused, the server it aimed at stays undrained,
// and each refusal is counted by reason. The requests are written by hand
// with the fields a browser would add (Origin, Sec-Fetch-Site,
// Content-Type), so every case is exact and needs no browser.
#include <doctest/doctest.h>

#include <string>

#include "support/admin_api.h"
#include "support/http.h"
#include "support/json.h"
#include "support/proxy.h"
#include "support/scrape.h"

using namespace fulcrum::test;

namespace {

const std::string kDrainPath = "/api/upstreams/pool/servers/pay-a/drain";

std::string withToken(const std::string& more = "") {
  return adminTestConfig(", token: " + kAdminToken + more);
}

std::string host(uint16_t port) {
  return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
}

// A POST of the drain with `fields` (each ending in CRLF) and a body "x".
HttpMessage postDrain(uint16_t port, const std::string& fields) {
  auto answer = rawExchange(port, "POST " + kDrainPath + " HTTP/1.1\r\n" + fields +
                                      "Content-Length: 1\r\nConnection: close\r\n\r\nx");
  REQUIRE(answer);
  return *answer;
}

std::string errorOf(const HttpMessage& answer) {
  return parseJson(answer.body)["error"].str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("admin: without a token the API is disabled, says how to enable it, drains nothing") {
  Proxy proxy(adminTestConfig());
  const uint16_t admin = proxy.adminPort();
  REQUIRE(proxy.process().waitForText("admin: /api is disabled: global.admin.token is not set"));

  // The request of the report: a page's cross-site form post.
  HttpMessage report = postDrain(admin, host(admin) +
                                            "Origin: https://evil.example\r\n"
                                            "Content-Type: text/plain\r\n");
  CHECK(report.status == 403);
  CHECK(contains(errorOf(report), "the admin API is disabled: set global.admin.token"));
  // Whatever the caller sends: the right headers, some bearer token, GET.
  CHECK(postDrain(admin, host(admin) + adminApiFields()).status == 403);
  CHECK(postDrain(admin, host(admin) + adminApiFields("")).status == 403);
  auto get = callOnce(admin, "GET", kDrainPath);
  REQUIRE(get);
  CHECK(get->status == 403);
  CHECK(adminDrained(admin, "pool", "pay-a") == false);
  CHECK(adminRefusals(admin, "disabled") == 4);

  // The read-only pages stay open.
  CHECK(httpGet(admin, "/status").status == 200);
  CHECK(httpGet(admin, "/healthz").status == 200);
}

TEST_CASE("admin: a call from another origin is refused, even with the token") {
  Proxy proxy(withToken());
  const uint16_t admin = proxy.adminPort();
  const std::string self = "http://127.0.0.1:" + std::to_string(admin);
  const std::string good = host(admin) + adminApiFields();

  for (const std::string& from :
       {std::string("Origin: https://evil.example\r\n"), std::string("Origin: null\r\n"),
        // The same host on another port is another origin (same-site).
        std::string("Origin: http://127.0.0.1:8080\r\n"),
        std::string("Origin: http://localhost:") + std::to_string(admin) + "\r\n",
        std::string("Origin: ") + self + "\r\nOrigin: https://evil.example\r\n",
        std::string("Sec-Fetch-Site: cross-site\r\n"), std::string("Sec-Fetch-Site: same-site\r\n"),
        std::string("Sec-Fetch-Site: none\r\n"),
        std::string("Origin: ") + self + "\r\nSec-Fetch-Site: same-site\r\n"}) {
    CAPTURE(from);
    HttpMessage answer = postDrain(admin, good + from);
    CHECK(answer.status == 403);
    CHECK(contains(errorOf(answer), "from another origin"));
  }
  CHECK(adminDrained(admin, "pool", "pay-a") == false);
  CHECK(adminRefusals(admin, "cross_origin") == 9);

  // The listener's own origin, as a page it served would call it.
  HttpMessage own =
      postDrain(admin, good + "Origin: " + self + "\r\nSec-Fetch-Site: same-origin\r\n");
  CHECK(own.status == 200);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);
}

TEST_CASE("admin: an /api call needs Content-Type: application/json") {
  Proxy proxy(withToken());
  const uint16_t admin = proxy.adminPort();
  const std::string authorized = host(admin) + "Authorization: Bearer " + kAdminToken + "\r\n";

  // What a form or a no-cors fetch can send, and none at all.
  for (const std::string& type :
       {std::string("Content-Type: text/plain\r\n"),
        std::string("Content-Type: application/x-www-form-urlencoded\r\n"),
        std::string("Content-Type: multipart/form-data; boundary=x\r\n"), std::string("")}) {
    CAPTURE(type);
    HttpMessage answer = postDrain(admin, authorized + type);
    CHECK(answer.status == 415);
    CHECK(errorOf(answer) == "an /api call needs Content-Type: application/json");
  }
  CHECK(adminDrained(admin, "pool", "pay-a") == false);
  CHECK(adminRefusals(admin, "content_type") == 4);

  HttpMessage json =
      postDrain(admin, authorized + "Content-Type: Application/JSON; charset=utf-8\r\n");
  CHECK(json.status == 200);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);
}

TEST_CASE("admin: a Host that is not the listener's gets 421 on every path") {
  Proxy proxy(withToken(", hosts: [admin.example.com, 192.0.2.7]"));
  const uint16_t admin = proxy.adminPort();
  const std::string port = std::to_string(admin);

  // DNS rebinding: attacker.example now resolves to 127.0.0.1.
  for (const char* path : {"/status.json", "/status", "/metrics", "/healthz", "/nowhere"}) {
    CAPTURE(path);
    auto answer = rawExchange(admin, std::string("GET ") + path +
                                         " HTTP/1.1\r\nHost: attacker.example:" + port +
                                         "\r\nConnection: close\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->status == 421);
    CHECK(contains(errorOf(*answer), "global.admin.hosts"));
    CHECK_FALSE(contains(answer->body, "pay-a"));
  }
  // A drain with everything right but the Host.
  CHECK(postDrain(admin, "Host: attacker.example:" + port + "\r\n" + adminApiFields()).status ==
        421);
  // An absolute target names the authority itself (RFC 9112, 3.2.2).
  auto absolute =
      rawExchange(admin, "GET http://attacker.example:" + port + "/status.json HTTP/1.1\r\n" +
                             host(admin) + "Connection: close\r\n\r\n");
  REQUIRE(absolute);
  CHECK(absolute->status == 421);
  CHECK(adminDrained(admin, "pool", "pay-a") == false);
  CHECK(adminRefusals(admin, "host") == 7);

  // The listener's own names, in any case, with or without port.
  for (const std::string& name :
       {"127.0.0.1:" + port, std::string("127.0.0.1"), "localhost:" + port,
        std::string("LocalHost"), "[::1]:" + port, "Admin.Example.COM:" + port,
        std::string("admin.example.com."), "192.0.2.7:" + port}) {
    CAPTURE(name);
    auto answer = rawExchange(
        admin, "GET /status.json HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->status == 200);
  }
  // A named Host may drain too, with the rest right.
  CHECK(postDrain(admin, "Host: admin.example.com:" + port + "\r\n" + adminApiFields()).status ==
        200);
  CHECK(adminDrained(admin, "pool", "pay-a") == true);
}

TEST_CASE("admin: on a wildcard address the listener is the address the client dialled") {
  Proxy proxy(adminTestConfig("", "0.0.0.0:0"));
  const uint16_t admin = proxy.adminPort();
  const std::string port = std::to_string(admin);
  // Dialled at 127.0.0.1: that address and the loopback names.
  for (const std::string& name : {"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port}) {
    CAPTURE(name);
    CHECK(rawExchange(admin,
                      "GET /healthz HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
              ->status == 200);
  }
  // The wildcard itself is no address a client dials.
  for (const std::string& name : {"0.0.0.0:" + port, "attacker.example:" + port}) {
    CAPTURE(name);
    CHECK(rawExchange(admin,
                      "GET /healthz HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
              ->status == 421);
  }
}

TEST_CASE("admin: a missing, doubled or malformed Host") {
  Proxy proxy(adminTestConfig());
  const uint16_t admin = proxy.adminPort();
  auto ask = [&](const std::string& head) {
    auto answer = rawExchange(admin, head + "\r\n");
    REQUIRE(answer);
    return *answer;
  };
  // HTTP/1.0 without Host: old scripts; no browser sends one.
  CHECK(ask("GET /healthz HTTP/1.0\r\n").status == 200);
  HttpMessage missing = ask("GET /healthz HTTP/1.1\r\nConnection: close\r\n");
  CHECK(missing.status == 400);
  CHECK(errorOf(missing) == "an HTTP/1.1 request needs a Host field");
  HttpMessage doubled = ask(
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n");
  CHECK(doubled.status == 400);
  for (const char* bad : {"127.0.0.1:99999", "user@127.0.0.1", "[::1", "::1", "127.0.0.1:x"}) {
    CAPTURE(bad);
    CHECK(ask(std::string("GET /healthz HTTP/1.1\r\nHost: ") + bad + "\r\nConnection: close\r\n")
              .status == 400);
  }
}
