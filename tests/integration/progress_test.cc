// How far the proxy and each of its workers got, as /status.json and
// /metrics publish it: the configuration generation (1 at start, one more
// per successful reload, unchanged by a failed one, followed by every
// worker) and the health publications each worker applied (one more per
// change of usable servers). Loopback only; every wait has a deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <string>

#include "support/http.h"
#include "support/net.h"
#include "support/progress.h"
#include "support/proxy.h"
#include "support/reload.h"
#include "support/scrape.h"
#include "support/wait.h"

using namespace fulcrum::test;

namespace {

constexpr unsigned kWorkers = 2;

// Two workers, one HTTP listener on upstream "pool", and whatever the
// test adds to the pool and to the listeners.
std::string yaml(uint16_t server, const std::string& pool_extra = "",
                 const std::string& extra_listener = "") {
  return "global: { workers: " + std::to_string(kWorkers) +
         ", log: { level: debug }, admin: { listen: 127.0.0.1:0 } }\n"
         "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n" +
         extra_listener + "upstreams:\n  pool:\n" + pool_extra +
         "    servers:\n      - { address: 127.0.0.1:" + std::to_string(server) + " }\n";
}

std::string workerSeries(const std::string& family, unsigned worker) {
  return family + "{worker=\"" + std::to_string(worker) + "\"}";
}

// The status and the metrics agree on it: the proxy runs `generation`, and
// so does every worker.
void checkGeneration(Proxy& proxy, uint64_t generation) {
  const ProxyProgress progress = readProgress(proxy);
  CHECK(progress.generation == generation);
  REQUIRE(progress.workers.size() == kWorkers);
  for (const WorkerProgress& worker : progress.workers) CHECK(worker.generation == generation);
  const std::string metrics = httpGet(proxy.adminPort(), "/metrics").body;
  CHECK(sample(metrics, "fulcrum_config_generation") == static_cast<double>(generation));
  for (unsigned w = 0; w < kWorkers; ++w)
    CHECK(sample(metrics, workerSeries("fulcrum_worker_config_generation", w)) ==
          static_cast<double>(generation));
}

}  // namespace

TEST_CASE("progress: the generation moves on a successful reload only, and every worker follows") {
  HttpBackend backend("a");
  Proxy proxy(yaml(backend.port()));
  Reloader reloader(proxy, kWorkers);
  checkGeneration(proxy, kFirstGeneration);

  REQUIRE(reloader.succeeds(yaml(backend.port()) + "# the same, once more\n"));
  checkGeneration(proxy, 2);

  // Rejected while loading: nothing is built.
  REQUIRE(reloader.fails("listeners: [ { name: web\n"));
  checkGeneration(proxy, 2);

  // Built, then dropped: its new listener cannot bind (this test holds the
  // port). The dropped build does not use up a number.
  uint16_t taken = 0;
  Fd holder = listenLoopback(taken);
  REQUIRE(reloader.fails(yaml(backend.port(), "",
                              "  - { name: extra, listen: 127.0.0.1:" + std::to_string(taken) +
                                  ", protocol: http, upstream: pool }\n")));
  checkGeneration(proxy, 2);

  REQUIRE(reloader.succeeds(yaml(backend.port())));
  checkGeneration(proxy, 3);
  CHECK(httpGet(proxy.port("web"), "/").status == 200);
}

TEST_CASE("progress: every worker counts the health publications it applied") {
  std::atomic<bool> healthy{true};
  HttpBackend backend("a", [&healthy](const HttpMessage& request, int) {
    if (request.path == "/healthz") return httpResponse(healthy ? 200 : 503, "");
    return httpResponse(200, "a");
  });
  Proxy proxy(yaml(backend.port(),
                   "    health_check: { type: http, path: /healthz, interval: 100ms,"
                   " rise: 1, fall: 1, jitter: 0%, initial_state: up }\n"));
  const uint16_t web = proxy.port("web");
  // Passing checks of a server that starts up change nothing: no publication.
  const std::string passed = "fulcrum_health_checks_total{upstream=\"pool\",server=\"127.0.0.1:" +
                             std::to_string(backend.port()) + "\",result=\"passed\"}";
  REQUIRE(waitUntil(
      [&] { return sample(httpGet(proxy.adminPort(), "/metrics").body, passed).value_or(0) >= 1; },
      kDeadline));
  const ProxyProgress start = readProgress(proxy);
  REQUIRE(start.workers.size() == kWorkers);
  for (const WorkerProgress& worker : start.workers) CHECK(worker.host_set_updates == 0);

  healthy = false;
  for (unsigned w = 0; w < kWorkers; ++w) REQUIRE(waitForHostSetUpdates(proxy, w, 1));
  CHECK(httpGet(web, "/").status == 503);  // no usable server left

  healthy = true;
  for (unsigned w = 0; w < kWorkers; ++w) REQUIRE(waitForHostSetUpdates(proxy, w, 2));
  CHECK(httpGet(web, "/").status == 200);

  const ProxyProgress after = readProgress(proxy);
  CHECK(after.generation == kFirstGeneration);  // health changes are not reloads
  const std::string metrics = httpGet(proxy.adminPort(), "/metrics").body;
  for (unsigned w = 0; w < kWorkers; ++w) {
    CAPTURE(w);
    CHECK(after.workers[w].host_set_updates == 2);
    CHECK(sample(metrics, workerSeries("fulcrum_worker_host_set_updates_total", w)) == 2);
  }
}
