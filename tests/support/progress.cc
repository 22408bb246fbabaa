#include "support/progress.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "support/scrape.h"
#include "support/wait.h"

namespace fulcrum::test {

Json readStatus(Proxy& proxy) {
  const HttpMessage answer = httpGet(proxy.adminPort(), "/status.json");
  REQUIRE(answer.status == 200);
  Json json;
  REQUIRE_NOTHROW(json = parseJson(answer.body));
  return json;
}

ProxyProgress readProgress(Proxy& proxy) {
  const Json status = readStatus(proxy);
  ProxyProgress progress;
  progress.generation = static_cast<uint64_t>(status["generation"].num());
  const Json& workers = status["workers"];
  for (size_t w = 0; w < workers.size(); ++w)
    progress.workers.push_back({static_cast<uint64_t>(workers[w]["generation"].num()),
                                static_cast<uint64_t>(workers[w]["host_set_updates"].num())});
  return progress;
}

std::optional<ProxyProgress> waitForProgress(
    Proxy& proxy, const std::function<bool(const ProxyProgress&)>& reached,
    std::chrono::milliseconds deadline) {
  ProxyProgress last;
  // A worker applies a change within a loop iteration or two: the first
  // asks come quickly, then no more often than every 16ms.
  const bool held = pollUntil(
      [&] {
        last = readProgress(proxy);
        return reached(last);
      },
      deadline, std::chrono::milliseconds(1), std::chrono::milliseconds(16));
  if (!held) {
    std::string seen = "generation " + std::to_string(last.generation) + ", workers:";
    for (const WorkerProgress& worker : last.workers)
      seen += " {generation " + std::to_string(worker.generation) + ", host_set_updates " +
              std::to_string(worker.host_set_updates) + "}";
    MESSAGE("/status.json never showed the progress waited for; last seen: " << seen);
    return std::nullopt;
  }
  return last;
}

bool waitForGeneration(Proxy& proxy, uint64_t generation, std::chrono::milliseconds deadline) {
  return waitForProgress(
             proxy,
             [generation](const ProxyProgress& progress) {
               return !progress.workers.empty() &&
                      std::all_of(progress.workers.begin(), progress.workers.end(),
                                  [generation](const WorkerProgress& worker) {
                                    return worker.generation >= generation;
                                  });
             },
             deadline)
      .has_value();
}

bool waitForHostSetUpdates(Proxy& proxy, size_t worker, uint64_t updates,
                           std::chrono::milliseconds deadline) {
  return waitForProgress(
             proxy,
             [worker, updates](const ProxyProgress& progress) {
               return worker < progress.workers.size() &&
                      progress.workers[worker].host_set_updates >= updates;
             },
             deadline)
      .has_value();
}

}  // namespace fulcrum::test
