// The idempotency ledger through the real proxy: a repeated payment gets
// the first answer and the server sees it once; the conflicts, mismatches,
// missing keys, released keys, held unknown outcomes, scopes and expiry,
// each as a client sees it, with each store (the memory store, then Redis
// on a redis-server of the test's own); the memory store's bounds and its
// entries gauge. The backend numbers its answers, so a second charge would
// show.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/http_configs.h"
#include "support/ledger_requests.h"
#include "support/ledger_store.h"
#include "support/proxy.h"
#include "support/raw_backend.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;
using namespace std::chrono_literals;

TEST_CASE("ledger: a repeated payment gets the first answer byte for byte, the server sees one") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  auto first = rawExchange(port, keyedPost("pay-1", "{\"amount\":100}"));
  REQUIRE(rawStatus(first) == 201);
  CHECK(responseBody(first) == "{\"charge\":0}");
  CHECK_FALSE(rawField(*first, "Idempotent-Replayed"));

  auto again = rawExchange(port, keyedPost("pay-1", "{\"amount\":100}"));
  REQUIRE(rawStatus(again) == 201);
  CHECK(rawField(*again, "Idempotent-Replayed") == "true");
  CHECK(comparable(*again) == comparable(*first));
  CHECK(again->rfind("HTTP/1.1 201 Created Here\r\n", 0) == 0);  // the server's own reason
  CHECK(backend.requests().size() == 1);

  // Another key is another payment; a request with no key is not watched.
  CHECK(responseBody(rawExchange(port, keyedPost("pay-2", "{\"amount\":100}"))) ==
        "{\"charge\":1}");
  CHECK(responseBody(rawExchange(port, keyedPost("", "{\"amount\":100}"))) == "{\"charge\":2}");
  CHECK(responseBody(rawExchange(port, keyedPost("", "{\"amount\":100}"))) == "{\"charge\":3}");
  CHECK(backend.requests().size() == 4);
}

TEST_CASE("ledger: the same key with another body, method or target gets 422 and no server") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  REQUIRE(rawStatus(rawExchange(port, keyedPost("pay-1", "{\"amount\":100}"))) == 201);
  auto other_body = rawExchange(port, keyedPost("pay-1", "{\"amount\":999}"));
  CHECK(rawStatus(other_body) == 422);
  CHECK(rawField(*other_body, "Content-Type") == "application/problem+json");
  CHECK(responseBody(other_body).find("\"code\":\"idempotency_key_reused\"") != std::string::npos);
  CHECK(responseBody(other_body).find("\"status\":422") != std::string::npos);
  auto other_target =
      rawExchange(port, keyedPost("pay-1", "{\"amount\":100}", "", "/v1/payments/refund"));
  CHECK(rawStatus(other_target) == 422);
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("ledger: a chunked body is judged by its data, not by how it was cut") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  const std::string head =
      "POST /v1/payments HTTP/1.1\r\nHost: t\r\nIdempotency-Key: chunky\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  REQUIRE(rawStatus(rawExchange(port, head + "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n")) == 201);
  auto same = rawExchange(port, head + "7\r\n{\"a\":1}\r\n0\r\n\r\n");
  CHECK(rawStatus(same) == 201);
  CHECK(rawField(*same, "Idempotent-Replayed") == "true");
  CHECK(rawStatus(rawExchange(port, head + "7\r\n{\"a\":2}\r\n0\r\n\r\n")) == 422);
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("ledger: 50 repeats at once with one key: one reaches the server, the rest get 409") {
  StoreUnderTest store(eachStore());
  Gate gate;
  RawBackend backend([&](size_t index, const std::string&) {
    gate.wait();
    return charge(index);
  });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  std::optional<std::string> first;
  std::thread first_client([&] { first = rawExchange(port, keyedPost("once", "{\"amount\":5}")); });
  REQUIRE(waitUntil([&] { return gate.waiting() == 1; }, 5s));

  std::atomic<int> conflicts{0};
  std::atomic<int> retry_after{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 49; ++i)
    clients.emplace_back([&] {
      auto response = rawExchange(port, keyedPost("once", "{\"amount\":5}"));
      if (rawStatus(response) == 409) ++conflicts;
      if (response && rawField(*response, "Retry-After") == "1") ++retry_after;
    });
  for (auto& client : clients) client.join();
  CHECK(conflicts == 49);
  CHECK(retry_after == 49);
  gate.release();
  first_client.join();
  CHECK(rawStatus(first) == 201);
  CHECK(backend.requests().size() == 1);
  // Now the answer is kept: a repeat gets it.
  auto later = rawExchange(port, keyedPost("once", "{\"amount\":5}"));
  CHECK(rawStatus(later) == 201);
  CHECK(rawField(*later, "Idempotent-Replayed") == "true");
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("ledger: an answer over max_response is not kept: a repeat gets 409 saying so") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "max_response: 4", store.config()));
  const uint16_t port = store.port(proxy);
  REQUIRE(rawStatus(rawExchange(port, keyedPost("big", "{}"))) == 201);
  auto repeat = rawExchange(port, keyedPost("big", "{}"));
  CHECK(rawStatus(repeat) == 409);
  CHECK(responseBody(repeat).find("idempotency_answer_not_kept") != std::string::npos);
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("ledger: an answer that asks for a retry releases the key, the repeat is forwarded") {
  StoreUnderTest store(eachStore());
  RawBackend backend(
      [](size_t index, const std::string&) { return charge(index, index == 0 ? 429 : 201); });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  CHECK(rawStatus(rawExchange(port, keyedPost("busy", "{}"))) == 429);
  auto repeat = rawExchange(port, keyedPost("busy", "{}"));
  CHECK(rawStatus(repeat) == 201);
  CHECK(responseBody(repeat) == "{\"charge\":1}");
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("ledger: a server's 500 is a final answer and is kept, as Stripe keeps it") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index, 500); });
  Proxy proxy(ledgerYaml(backend.port(), "", store.config()));
  const uint16_t port = store.port(proxy);
  CHECK(rawStatus(rawExchange(port, keyedPost("err", "{}"))) == 500);
  auto repeat = rawExchange(port, keyedPost("err", "{}"));
  CHECK(rawStatus(repeat) == 500);
  CHECK(rawField(*repeat, "Idempotent-Replayed") == "true");
  CHECK(backend.requests().size() == 1);
}

TEST_CASE("ledger: fulcrum's own error releases the key") {
  StoreUnderTest store(eachStore());
  // Nothing listens on the server's port: 503, nothing was sent.
  uint16_t closed;
  {
    RawBackend gone(closeWithoutAnswer());
    closed = gone.port();
  }
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  HttpConfig config;
  config.servers = {backend.port()};
  config.routes =
      "      - match: { path_prefix: /v1/payments }\n        upstream: pool\n"
      "        idempotency: {}\n      - match: { path_prefix: /down }\n"
      "        upstream: down\n        idempotency: {}\n";
  config.extra_upstreams =
      "  down:\n    servers:\n      - { address: 127.0.0.1:" + std::to_string(closed) + " }\n";
  config.global_extra = storeLines(store.config());
  Proxy proxy(config.yaml());
  const uint16_t port = store.port(proxy);
  CHECK(rawStatus(rawExchange(port, keyedPost("k", "{}", "", "/down"))) == 503);
  // The key is free again: the repeat is tried, not answered 409.
  CHECK(rawStatus(rawExchange(port, keyedPost("k", "{}", "", "/down"))) == 503);
}

TEST_CASE("ledger: outcome unknown is held (409, X-Fulcrum-Outcome) or released as configured") {
  const StoreKind kind = eachStore();
  for (const bool hold : {true, false}) {
    CAPTURE(hold);
    StoreUnderTest store(kind);  // each run starts with an empty ledger
    RawBackend backend([](size_t index, const std::string&) {
      return index == 0 ? closeWithoutAnswer() : charge(index);
    });
    Proxy proxy(ledgerYaml(backend.port(),
                           hold ? "on_unknown_outcome: hold" : "on_unknown_outcome: release",
                           store.config()));
    const uint16_t port = store.port(proxy);
    auto first = rawExchange(port, keyedPost("lost", "{}"));
    CHECK(rawStatus(first) == 502);
    CHECK(rawField(*first, "X-Fulcrum-Outcome") == "unknown");
    const size_t seen = backend.requests().size();
    auto repeat = rawExchange(port, keyedPost("lost", "{}"));
    if (hold) {
      CHECK(rawStatus(repeat) == 409);
      CHECK(rawField(*repeat, "X-Fulcrum-Outcome") == "unknown");
      CHECK(responseBody(repeat).find("idempotency_outcome_unknown") != std::string::npos);
      CHECK(backend.requests().size() == seen);
    } else {
      CHECK(rawStatus(repeat) == 201);
      CHECK(backend.requests().size() == seen + 1);
    }
  }
}

TEST_CASE("ledger: require_key: a missing or invalid key gets 400 naming the header") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "require_key: true", store.config()));
  const uint16_t port = store.port(proxy);
  auto missing = rawExchange(port, keyedPost("", "{}"));
  CHECK(rawStatus(missing) == 400);
  CHECK(rawField(*missing, "Content-Type") == "application/problem+json");
  CHECK(responseBody(missing).find("Idempotency-Key") != std::string::npos);
  CHECK(responseBody(missing).find("idempotency_key_missing") != std::string::npos);
  auto too_long = rawExchange(port, keyedPost(std::string(256, 'k'), "{}"));
  CHECK(rawStatus(too_long) == 400);
  CHECK(responseBody(too_long).find("idempotency_key_invalid") != std::string::npos);
  CHECK(rawStatus(rawExchange(port, keyedPost("a,b", "{}"))) == 400);
  CHECK(rawStatus(rawExchange(port, keyedPost("k", "{}", "Idempotency-Key: k2\r\n"))) == 400);
  // Other methods and other routes are not watched.
  CHECK(rawStatus(rawExchange(port, "GET /v1/payments HTTP/1.1\r\nHost: t\r\n\r\n")) == 201);
  CHECK(rawStatus(rawExchange(port, keyedPost("", "{}", "", "/v1/other"))) == 201);
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("ledger: a scope keeps two clients' equal keys apart") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "scope: header:Authorization", store.config()));
  const uint16_t port = store.port(proxy);
  auto alice = rawExchange(port, keyedPost("same", "{}", "Authorization: Bearer alice\r\n"));
  auto bob = rawExchange(port, keyedPost("same", "{}", "Authorization: Bearer bob\r\n"));
  CHECK(responseBody(alice) == "{\"charge\":0}");
  CHECK(responseBody(bob) == "{\"charge\":1}");
  CHECK(responseBody(rawExchange(
            port, keyedPost("same", "{}", "Authorization: Bearer alice\r\n"))) == "{\"charge\":0}");
  CHECK(responseBody(rawExchange(port, keyedPost("same", "{}", "Authorization: Bearer bob\r\n"))) ==
        "{\"charge\":1}");
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("ledger: a kept answer expires after ttl, then the key is new again") {
  StoreUnderTest store(eachStore());
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "ttl: 1s, in_flight_timeout: 1s", store.config()));
  const uint16_t port = store.port(proxy);
  REQUIRE(responseBody(rawExchange(port, keyedPost("short", "{}"))) == "{\"charge\":0}");
  CHECK(rawField(*rawExchange(port, keyedPost("short", "{}")), "Idempotent-Replayed") == "true");
  // Each repeat inside the ttl is a replay; the first after it is charged.
  CHECK(pollUntil(
      [&] { return responseBody(rawExchange(port, keyedPost("short", "{}"))) == "{\"charge\":1}"; },
      5s, 50ms, 200ms));
  CHECK(backend.requests().size() == 2);
}

TEST_CASE("ledger: max_entries bounds the memory store, the coldest answer goes first") {
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port(), "", "type: memory, max_entries: 2"));
  const uint16_t port = proxy.port("web");
  for (const char* key : {"a", "b", "c"})
    REQUIRE(rawStatus(rawExchange(port, keyedPost(key, "{}"))) == 201);
  CHECK(backend.requests().size() == 3);
  CHECK(responseBody(rawExchange(port, keyedPost("c", "{}"))) == "{\"charge\":2}");  // kept
  CHECK(responseBody(rawExchange(port, keyedPost("a", "{}"))) ==
        "{\"charge\":3}");  // pushed out: charged again
  CHECK(backend.requests().size() == 4);
  const auto samples = scrapeSamples(proxy.adminPort());
  CHECK(samples.at("fulcrum_idempotency_entries") == 2);
}

TEST_CASE("ledger: /metrics counts keyed requests by result") {
  RawBackend backend([](size_t index, const std::string&) { return charge(index); });
  Proxy proxy(ledgerYaml(backend.port()));
  const uint16_t port = proxy.port("web");
  REQUIRE(rawStatus(rawExchange(port, keyedPost("m", "{}"))) == 201);
  REQUIRE(rawStatus(rawExchange(port, keyedPost("m", "{}"))) == 201);
  REQUIRE(rawStatus(rawExchange(port, keyedPost("m", "{\"x\":1}"))) == 422);
  REQUIRE(rawStatus(rawExchange(port, keyedPost("", "{}"))) == 201);
  const auto samples = scrapeSamples(proxy.adminPort());
  auto count = [&](const std::string& result) {
    return samples.at("fulcrum_idempotency_requests_total{listener=\"web\",result=\"" + result +
                      "\"}");
  };
  CHECK(count("first") == 1);
  CHECK(count("replayed") == 1);
  CHECK(count("mismatch") == 1);
  CHECK(count("missing_key") == 1);
  CHECK(count("conflict") == 0);
  CHECK(count("store_error") == 0);
  CHECK(samples.at("fulcrum_idempotency_entries") == 1);
  // Three claims (the keyless request makes none) and one settle, each
  // timed once (the cumulative +Inf bucket holds them all).
  auto timed = [&](const std::string& operation) {
    return samples.at("fulcrum_idempotency_store_seconds_bucket{operation=\"" + operation +
                      "\",le=\"+Inf\"}");
  };
  CHECK(timed("claim") == 3);
  CHECK(timed("settle") == 1);
  CHECK(timed("release") == 0);
  CHECK(samples.at("fulcrum_idempotency_store_seconds_count{operation=\"claim\"}") == 3);
}
