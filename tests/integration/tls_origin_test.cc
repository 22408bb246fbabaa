// TLS to the servers (an upstream's tls), through the real binary: fulcrum
// A originates TLS to fulcrum B, a TLS listener in front of a plain
// backend, or to a test TLS server that counts handshakes. Covered: the
// certificate verified against ca and server_name, a mismatch failing over
// to another server with the reason in the access log, an untrusted CA,
// verify: false (and its warning), client certificates, one kept-alive
// connection for many requests, resumption, and TLS health checks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/json.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/test_pki.h"
#include "support/tls_server.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

namespace {

// fulcrum A: listener "web" (`protocol`) to upstream "pool" with `tls` (a
// flow mapping) and `servers` (flow mappings), access log on stdout.
std::string originConfig(const std::vector<std::string>& servers, const std::string& tls,
                         const std::string& extra = "", const std::string& protocol = "http") {
  std::string out =
      "global: { workers: 1, log: { level: debug, access: stdout },"
      " admin: { listen: 127.0.0.1:0 } }\n"
      "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: " +
      protocol +
      ", upstream: pool }\n"
      "upstreams:\n  pool:\n    timeouts: { connect: 2s, response: 5s }\n"
      "    tls: " +
      tls + "\n" + extra + "    servers:\n";
  for (const std::string& server : servers) out += "      - " + server + "\n";
  return out;
}

std::string server(uint16_t port, const std::string& extra = "") {
  return "{ address: " + loopbackAddress(port) + extra + " }";
}

// fulcrum B: a TLS listener with `issued` (and `extra` tls keys) in front
// of `backend`.
std::string terminating(const HttpBackend& backend, const IssuedCertificate& issued,
                        const std::string& extra = "") {
  return tlsHttpConfig(backend.port(), tlsMapping(issued, extra));
}

// The usual peer: fulcrum B terminating TLS for "api.internal" with a
// certificate from `pki`, in front of backend "b1"; `trust` is the tls
// mapping that verifies it.
struct VerifiedServer {
  TestPki pki;
  IssuedCertificate api = pki.issue("api", {"api.internal"});
  HttpBackend backend{"b1"};
  Proxy b{terminating(backend, api)};
  std::string trust = "{ ca: " + pki.ca() + ", server_name: api.internal }";
  uint16_t port() { return b.port("web"); }
};

// The access log line of the request to `path` (its JSON).
Json accessLine(Proxy& proxy, const std::string& path) {
  auto line = nthLine(
      proxy.process(),
      [&](const std::string& text) {
        return text.find("\"type\":\"http\"") != std::string::npos &&
               text.find("\"path\":\"" + path + "\"") != std::string::npos;
      },
      1);
  REQUIRE(line);
  return parseJson(*line);
}

// A POST without an Idempotency-Key: one that is never sent twice.
std::optional<HttpMessage> postPayment(uint16_t port, const std::string& path) {
  Fd client = connectLoopback(port);
  REQUIRE(client);
  REQUIRE(writeAll(client.get(), "POST " + path +
                                     " HTTP/1.1\r\nHost: pay\r\nContent-Length: 5\r\n"
                                     "Connection: close\r\n\r\namount"));
  return HttpReader(client.get()).response();
}

// "LINE:COLUMN" of the first `needle` in `text`, 1-based.
std::string positionOf(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  const size_t line_start = text.rfind('\n', at);
  const size_t column = line_start == std::string::npos ? at + 1 : at - line_start;
  const long line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

TEST_CASE("tls upstream: a server verified against ca and server_name gets the request") {
  VerifiedServer verified;
  Proxy a(originConfig({server(verified.port())}, verified.trust));
  HttpMessage response = httpGet(a.port("web"), "/pay");
  CHECK(response.status == 200);
  CHECK(response.body == "b1 /pay\n");
  auto seen = verified.backend.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].field("X-Forwarded-Proto") == "https");  // B got it over TLS
}

TEST_CASE("tls upstream: without server_name, a server written as an IP is verified for it") {
  TestPki pki;
  auto by_address = pki.issue("ip", {"127.0.0.1"});
  auto by_name = pki.issue("named", {"api.internal"});
  HttpBackend backend("b1");
  Proxy right(terminating(backend, by_address));
  Proxy wrong(terminating(backend, by_name));
  Proxy a(originConfig({server(right.port("web"))}, "{ ca: " + pki.ca() + " }"));
  CHECK(httpGet(a.port("web"), "/one").status == 200);
  // A certificate for a name does not hold the address.
  Proxy b(originConfig({server(wrong.port("web"))}, "{ ca: " + pki.ca() + " }"));
  CHECK(httpGet(b.port("web"), "/two").status == 503);
  CHECK(accessLine(b, "/two")["detail"].str().find("(IP address mismatch)") != std::string::npos);
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("tls upstream: 50 requests go over one kept-alive TLS connection") {
  VerifiedServer verified;
  Proxy a(originConfig({server(verified.port())}, verified.trust));
  const uint16_t port = a.port("web");
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string path = "/n/" + std::to_string(i);
    const HttpMessage response = httpGet(port, path);
    ok += response.status == 200 && response.body == "b1 " + path + "\n";
  }
  CHECK(ok == 50);
  // Every request came over the one connection A made to B: one handshake.
  CHECK(sample(httpGet(verified.b.adminPort(), "/metrics").body,
               "fulcrum_downstream_connections_total{listener=\"web\"}") == 1);
}

TEST_CASE("tls upstream: a reload keeps pooled connections only while the tls settings stay") {
  VerifiedServer verified;
  Proxy a(originConfig({server(verified.port())}, verified.trust));
  Reloader reloader(a, 1);
  const uint16_t port = a.port("web");
  auto connections = [&] {
    return sample(httpGet(verified.b.adminPort(), "/metrics").body,
                  "fulcrum_downstream_connections_total{listener=\"web\"}");
  };
  REQUIRE(httpGet(port, "/first").status == 200);
  // The same settings (another timeout): the pooled connection goes on.
  const std::string same = originConfig({server(verified.port())}, verified.trust,
                                        "    keepalive: { idle_timeout: 30s }\n");
  REQUIRE(reloader.succeeds(same));
  REQUIRE(httpGet(port, "/same").status == 200);
  CHECK(connections() == 1);
  // Other settings: a connection they would make, not the old one.
  REQUIRE(reloader.succeeds(originConfig({server(verified.port())}, "{ verify: false }")));
  REQUIRE(httpGet(port, "/changed").status == 200);
  CHECK(connections() == 2);
}

TEST_CASE("tls upstream: a name mismatch fails over to another server, the reason logged") {
  TestPki pki;
  auto wrong = pki.issue("wrong", {"other.internal"});
  auto api = pki.issue("api", {"api.internal"});
  HttpBackend impostor_backend("impostor");
  HttpBackend good_backend("good");
  Proxy impostor(terminating(impostor_backend, wrong));
  Proxy good(terminating(good_backend, api));
  // The impostor first for every request, the good server as the backup.
  Proxy a(originConfig({server(impostor.port("web")), server(good.port("web"), ", backup: true")},
                       "{ ca: " + pki.ca() + ", server_name: api.internal }"));
  // Even a POST without a key moves on: nothing was sent to the impostor.
  auto response = postPayment(a.port("web"), "/charge");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "good /charge\n");
  CHECK(impostor_backend.requests().empty());

  const Json entry = accessLine(a, "/charge");
  const Json& attempts = entry["attempt_log"];
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0]["phase"].str() == "not_sent");
  CHECK(attempts[0]["outcome"].str() ==
        "handshake failed: certificate verify failed (hostname mismatch)");
  CHECK(attempts[1]["phase"].str() == "response");
}

TEST_CASE("tls upstream: a server whose CA is not trusted gets nothing") {
  TestPki pki;
  TestPki stranger("stranger CA");
  auto api = stranger.issue("api", {"api.internal"});
  HttpBackend backend("b1");
  Proxy b(terminating(backend, api));
  Proxy a(
      originConfig({server(b.port("web"))}, "{ ca: " + pki.ca() + ", server_name: api.internal }"));
  HttpMessage response = httpGet(a.port("web"), "/pay");
  CHECK(response.status == 503);
  CHECK(backend.requests().empty());
  const Json entry = accessLine(a, "/pay");
  CHECK(entry["detail"].str().find("certificate verify failed (") != std::string::npos);
}

TEST_CASE("tls upstream: verify false takes any certificate, and the check warns of it") {
  TestPki stranger("stranger CA");
  auto api = stranger.issue("api", {"api.internal"});
  HttpBackend backend("b1");
  Proxy b(terminating(backend, api));
  const std::string yaml = originConfig({server(b.port("web"))}, "{ verify: false }");
  Proxy a(yaml);
  CHECK(httpGet(a.port("web"), "/pay").status == 200);

  CommandResult checked = runFulcrum({"-t", "-c", a.configPath()});
  CHECK(checked.status == 0);
  CHECK(checked.output.find(a.configPath() + ":" + positionOf(yaml, "false") +
                            ": upstreams.pool.tls.verify: warning: ") != std::string::npos);
  CHECK(checked.output.find("configuration OK") != std::string::npos);
}

TEST_CASE("tls upstream: a client certificate gets through to a server that requires one") {
  TestPki pki;
  TestPki clients("client CA");
  auto api = pki.issue("api", {"api.internal"});
  auto fulcrum = clients.issue("fulcrum", {"fulcrum-a"}, 30, true);
  HttpBackend backend("b1");
  Proxy b(terminating(backend, api, ", client_ca: " + clients.ca() + ", client_verify: required"));
  const std::string trust = "{ ca: " + pki.ca() + ", server_name: api.internal";
  Proxy with(originConfig({server(b.port("web"))}, trust + ", certificate: " + fulcrum.certificate +
                                                       ", key: " + fulcrum.key + " }"));
  CHECK(httpGet(with.port("web"), "/with").status == 200);
  auto seen = backend.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].field("X-Forwarded-Client-Cert").value_or("").find("CN=fulcrum-a") !=
        std::string::npos);
  // The client certificate's expiry is watched like a listener's.
  const std::string metrics = httpGet(with.adminPort(), "/metrics").body;
  CHECK(metrics.find("fulcrum_tls_certificate_expiry_timestamp_seconds{scope=\"upstream:pool\","
                     "name=\"fulcrum-a\"}") != std::string::npos);
  const Json status = parseJson(httpGet(with.adminPort(), "/status.json").body);
  CHECK(status["upstreams"][0]["certificates"][0]["subject"].str() == "fulcrum-a");
  CHECK(status["upstreams"][0]["certificates"][0]["file"].str() == fulcrum.certificate);
  CHECK(httpGet(with.adminPort(), "/status").body.find("<td>upstream pool</td>") !=
        std::string::npos);

  // Without one, B refuses the handshake (in TLS 1.3 only after A's side
  // of it ended and the request left): a failed connect all the same.
  HttpBackend other_backend("other");
  Proxy other(terminating(other_backend, api));
  Proxy without(originConfig({server(b.port("web")), server(other.port("web"), ", backup: true")},
                             trust + " }"));
  HttpMessage moved = httpGet(without.port("web"), "/moved");
  CHECK(moved.status == 200);
  CHECK(moved.body == "other /moved\n");
  const Json entry = accessLine(without, "/moved");
  CHECK(entry["attempt_log"][0]["phase"].str() == "not_sent");
  CHECK(entry["attempt_log"][0]["outcome"].str().find("certificate required") != std::string::npos);
  // A POST without a key was not kept for a replay, so it cannot go on;
  // but it is known not to have been processed.
  auto refused = postPayment(without.port("web"), "/refused");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK_FALSE(refused->field("X-Fulcrum-Outcome"));
  CHECK(backend.requests().size() == 1);
  CHECK(other_backend.requests().size() == 1);
}

TEST_CASE("tls upstream: a TCP listener originates TLS, and a second connection resumes") {
  TestPki pki;
  auto api = pki.issue("api", {"api.internal"});
  TlsServer tls(api.certificate, api.key);
  Proxy a(originConfig({server(tls.port())}, "{ ca: " + pki.ca() + ", server_name: api.internal }",
                       "", "tcp"));
  const uint16_t port = a.port("web");
  for (int i = 0; i < 2; ++i) {
    // The server makes its handshake, sends its tickets and closes; A
    // closes the client connection then.
    Fd client = connectLoopback(port);
    REQUIRE(client);
    CHECK(closedByPeer(client.get()));
    REQUIRE(waitUntil([&] { return tls.handshakes() == i + 1; }, kDeadline));
  }
  CHECK(tls.resumed() == 1);
  CHECK(tls.serverNames() == std::vector<std::string>{"api.internal", "api.internal"});
}

TEST_CASE("tls upstream: a TLS health check verifies as traffic does, and fails an impostor") {
  TestPki pki;
  auto api = pki.issue("api", {"api.internal"});
  auto wrong = pki.issue("wrong", {"other.internal"});
  TlsServer good(api.certificate, api.key);
  TlsServer impostor(wrong.certificate, wrong.key);
  Proxy a(originConfig({server(good.port()), server(impostor.port())},
                       "{ ca: " + pki.ca() + ", server_name: api.internal }",
                       "    health_check: { type: tls, interval: 200ms, timeout: 2s,"
                       " rise: 1, fall: 1 }\n"));
  auto up = [](uint16_t port) {
    return "fulcrum_upstream_server_up{upstream=\"pool\",server=\"" + loopbackAddress(port) + "\"}";
  };
  auto failed = "fulcrum_health_checks_total{upstream=\"pool\",server=\"" +
                loopbackAddress(impostor.port()) + "\",result=\"failed\"}";
  const uint16_t admin = a.adminPort();
  REQUIRE(waitUntil(
      [&] {
        const std::string metrics = httpGet(admin, "/metrics").body;
        return sample(metrics, up(good.port())) == 1 && sample(metrics, failed) >= 2;
      },
      kDeadline));
  const std::string metrics = httpGet(admin, "/metrics").body;
  CHECK(sample(metrics, up(impostor.port())) == 0);
  const Json status = parseJson(httpGet(admin, "/status.json").body);
  const Json& servers = status["upstreams"][0]["servers"];
  REQUIRE(servers.size() == 2);
  CHECK(servers[1]["check"].str() ==
        "TLS handshake failed: certificate verify failed (hostname mismatch)");
}

TEST_CASE("tls upstream: an http health check speaks HTTP over the upstream's TLS") {
  VerifiedServer verified;
  Proxy a(originConfig({server(verified.port())}, verified.trust,
                       "    health_check: { type: http, path: /healthz, interval: 200ms,"
                       " rise: 1 }\n"));
  const std::string up = "fulcrum_upstream_server_up{upstream=\"pool\",server=\"" +
                         loopbackAddress(verified.port()) + "\"}";
  CHECK(waitUntil([&] { return sample(httpGet(a.adminPort(), "/metrics").body, up) == 1; },
                  kDeadline));
  auto seen = verified.backend.requests();
  REQUIRE_FALSE(seen.empty());
  CHECK(seen[0].path == "/healthz");
  CHECK(seen[0].field("X-Forwarded-Proto") == "https");
}
