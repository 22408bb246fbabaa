// Which server a reload keeps: one identity, the upstream's name and the
// server's address as written, for health, pooled connections and counts
// alike. A server rewritten from "127.0.0.1:P" to "localhost:P" is a new
// server (as the health monitor always saw it), so its kept-alive
// connection is not carried over; written the same, it is.
#include <doctest/doctest.h>

#include <string>

#include "support/http.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"

using namespace fulcrum::test;

namespace {

std::string config(const std::string& address) {
  return "global:\n  workers: 1\n  log: { level: debug }\n  admin: { listen: 127.0.0.1:0 }\n"
         "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
         "upstreams:\n  pool:\n    servers:\n      - { address: " +
         address + " }\n";
}

}  // namespace

TEST_CASE("reload: a server is the same one only when its address is written the same") {
  HttpBackend backend("b");
  const std::string port = std::to_string(backend.port());
  Proxy proxy(config("127.0.0.1:" + port));
  Reloader reloader(proxy, 1);
  const uint16_t web = proxy.port("web");
  REQUIRE(httpGet(web, "/one").status == 200);
  REQUIRE(backend.connections() == 1);  // kept alive in the pool

  // Written the same: the pooled connection carries the next request.
  REQUIRE(reloader.succeeds(config("127.0.0.1:" + port) + "# again\n"));
  REQUIRE(httpGet(web, "/two").status == 200);
  CHECK(backend.connections() == 1);

  // Written otherwise (the same socket address): a new server to the
  // health monitor, so to the pool too.
  REQUIRE(reloader.succeeds(config("localhost:" + port)));
  REQUIRE(httpGet(web, "/three").status == 200);
  CHECK(backend.connections() == 2);
}
