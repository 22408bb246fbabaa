// The certificates of TLS listeners on /status and /status.json, rendered
// from a Status snapshot: one row each, the expiring ones marked, an
// expired one said so, every text escaped; no section at all without TLS.
#include <doctest/doctest.h>

#include <string>

#include "admin/status_json.h"
#include "admin/status_page.h"
#include "support/json.h"

using namespace fulcrum::admin;

namespace {

Status withCertificates() {
  Status status;
  status.version = "0.1.0";
  ListenerStatus web{"web", "http", "127.0.0.1:8443", 0, {}};
  web.certificates.push_back({"/etc/fulcrum/api.pem",
                              "api.example.com",
                              {"api.example.com", "www.example.com"},
                              "2027-03-01T12:00:00Z",
                              84,
                              false});
  web.certificates.push_back({"/etc/fulcrum/<shop>.pem",
                              "*.shop.example.com",
                              {"*.shop.example.com"},
                              "2027-01-09T00:00:00Z",
                              3,
                              true});
  web.certificates.push_back({"/etc/fulcrum/old.pem",
                              "old.example.com",
                              {"old.example.com"},
                              "2026-12-01T00:00:00Z",
                              -5,
                              true});
  status.listeners = {web, ListenerStatus{"db", "tcp", "127.0.0.1:5432", 0, {}}};
  UpstreamStatus payments{"payments", "round_robin", {}, 0, false, {}, {}};
  payments.certificates.push_back(
      {"/etc/fulcrum/client.pem", "fulcrum-a", {"fulcrum-a"}, "2027-02-01T00:00:00Z", 57, false});
  status.upstreams = {payments};
  return status;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("status page: a row per certificate, the expiring marked, the expired said so") {
  const std::string html = statusPage(withCertificates());
  CHECK(contains(html, "<h2>Certificates</h2>"));
  CHECK(contains(
      html,
      "<tr><td>listener web</td><td>api.example.com</td><td>api.example.com, www.example.com</td>"
      "<td>/etc/fulcrum/api.pem</td><td>2027-03-01T12:00:00Z</td>"
      "<td class=\"num\">84</td></tr>"));
  CHECK(contains(html, "<td>/etc/fulcrum/&lt;shop&gt;.pem</td>"));
  CHECK(contains(html, "<td class=\"num expiring\">3</td>"));
  CHECK(contains(html, "<td class=\"num expiring\">expired</td>"));
  CHECK_FALSE(contains(html, "<shop>"));
  // An upstream's client certificate is listed by its upstream.
  CHECK(contains(html,
                 "<tr><td>upstream payments</td><td>fulcrum-a</td><td>fulcrum-a</td>"
                 "<td>/etc/fulcrum/client.pem</td><td>2027-02-01T00:00:00Z</td>"
                 "<td class=\"num\">57</td></tr>"));
}

TEST_CASE("status page: no certificate section without a TLS listener") {
  Status plain;
  plain.listeners = {ListenerStatus{"web", "http", "127.0.0.1:8080", 0, {}}};
  CHECK_FALSE(contains(statusPage(plain), "<h2>Certificates</h2>"));
}

TEST_CASE("status.json: each listener lists its certificates, a plain one none") {
  const auto json = fulcrum::test::parseJson(statusJson(withCertificates()));
  const auto& certificates = json["listeners"][0]["certificates"];
  REQUIRE(certificates.size() == 3);
  CHECK(certificates[0].size() == 6);
  CHECK(certificates[0]["file"].str() == "/etc/fulcrum/api.pem");
  CHECK(certificates[0]["subject"].str() == "api.example.com");
  REQUIRE(certificates[0]["names"].size() == 2);
  CHECK(certificates[0]["names"][1].str() == "www.example.com");
  CHECK(certificates[0]["not_after"].str() == "2027-03-01T12:00:00Z");
  CHECK(certificates[0]["days_left"].num() == 84);
  CHECK_FALSE(certificates[0]["expires_soon"].boolean());
  CHECK(certificates[1]["file"].str() == "/etc/fulcrum/<shop>.pem");
  CHECK(certificates[1]["expires_soon"].boolean());
  CHECK(certificates[2]["days_left"].num() == -5);
  CHECK(json["listeners"][1]["certificates"].size() == 0);
  CHECK(json["upstreams"][0]["certificates"][0]["subject"].str() == "fulcrum-a");
}
