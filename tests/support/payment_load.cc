#include "support/payment_load.h"

#include <set>

#include <doctest/doctest.h>

#include "support/http.h"
#include "support/net.h"
#include "support/wait.h"

namespace fulcrum::test {
namespace {

// splitmix64: each request's draw depends on the seed and its index only,
// not on which client thread sends it or when.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr size_t kExamples = 5;

}  // namespace

const char* columnName(Column column) {
  switch (column) {
    case Column::Get:
      return "GET";
    case Column::KeyedPost:
      return "keyed POST";
    case Column::UnkeyedPost:
      return "unkeyed POST";
  }
  return "?";
}

LoadRequest makeLoadRequest(const std::string& name, uint64_t seed, int index) {
  const uint64_t draw = mix(mix(seed) ^ static_cast<uint64_t>(index));
  LoadRequest request;
  request.index = index;
  request.column = static_cast<Column>(draw % 3);
  const std::string tag = name + "-" + std::to_string(index);
  request.path = "/load/" + tag;
  request.request_id = "req-" + tag;
  if (request.column == Column::Get) {
    request.method = "GET";
  } else {
    request.method = "POST";
    request.body = patternBytes(200 + static_cast<size_t>((draw >> 8) % 5) * 150, draw);
    if (request.column == Column::KeyedPost) request.key = "key-" + tag;
  }
  return request;
}

void sendLoadRequest(uint16_t port, LoadRequest& request, std::chrono::milliseconds deadline) {
  std::string bytes = request.method + " " + request.path +
                      " HTTP/1.1\r\nHost: pay.test\r\nX-Request-Id: " + request.request_id + "\r\n";
  if (!request.key.empty()) bytes += "Idempotency-Key: " + request.key + "\r\n";
  if (request.method != "GET")
    bytes += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  bytes += "\r\n" + request.body;
  request.started = LoadRequest::Clock::now();
  Fd client = connectLoopback(port, deadline);
  if (client && writeAll(client.get(), bytes, deadline)) {
    HttpReader reader(client.get());
    if (auto response = reader.response(false, deadline)) {
      request.status = response->status;
      request.backend = response->field("X-Backend").value_or("");
      request.outcome = response->field("X-Fulcrum-Outcome").value_or("");
      request.retry_after = response->field("Retry-After").value_or("");
      if (auto attempts = response->field("X-Fulcrum-Attempts")) {
        try {
          request.attempts = std::stoi(*attempts);
        } catch (const std::exception&) {
          // Left unset: counted as missing.
        }
      }
    }
  }
  request.finished = LoadRequest::Clock::now();
}

PaymentLoad::PaymentLoad(uint16_t port, LoadSpec spec)
    : port_(port), spec_(std::move(spec)), start_(LoadRequest::Clock::now()) {
  requests_.resize(static_cast<size_t>(spec_.requests));
  clients_.reserve(static_cast<size_t>(spec_.concurrency));
  for (int i = 0; i < spec_.concurrency; ++i) clients_.emplace_back([this] { client(); });
}

PaymentLoad::~PaymentLoad() {
  for (auto& thread : clients_)
    if (thread.joinable()) thread.join();
}

void PaymentLoad::client() {
  const auto give_up_at = start_ + spec_.run_deadline;
  for (;;) {
    const int index = next_.fetch_add(1);
    if (index >= spec_.requests) return;
    // The arrival schedule; this pause shapes the load, it waits on nothing.
    std::this_thread::sleep_until(start_ + spec_.spacing * index);
    if (LoadRequest::Clock::now() >= give_up_at) return;
    LoadRequest& request = requests_[static_cast<size_t>(index)];
    request = makeLoadRequest(spec_.name, spec_.seed, index);
    sendLoadRequest(port_, request, spec_.response_deadline);
    ++answered_;
  }
}

bool PaymentLoad::waitAnswered(int count, std::chrono::milliseconds deadline) const {
  return waitUntil([&] { return answered_.load() >= count; }, deadline);
}

const std::vector<LoadRequest>& PaymentLoad::finish() {
  for (auto& thread : clients_)
    if (thread.joinable()) thread.join();
  started_.clear();
  for (const auto& request : requests_)
    if (!request.method.empty()) started_.push_back(request);
  return started_;
}

Tally tallyLoad(const std::vector<LoadRequest>& sent,
                const std::vector<const RecordingBackend*>& backends, ChildProcess* log,
                const std::function<bool(const LoadRequest&)>& alive) {
  Tally tally;
  // Everything received, by path (every request of a load has its own).
  std::map<std::string, std::vector<std::pair<std::string, ReceivedRequest>>> received;
  for (const RecordingBackend* backend : backends)
    for (auto& request : backend->requests()) {
      received[request.path].emplace_back(backend->name(), request);
      ++tally.receipts;
    }

  std::set<std::string> paths;
  size_t examples = 0;
  auto note = [&](const LoadRequest& r, const std::string& why) {
    if (examples++ >= kExamples) return;
    tally.examples += why + ": " + r.method + " " + r.path + " -> " + std::to_string(r.status) +
                      " outcome=" + r.outcome +
                      " attempts=" + (r.attempts ? std::to_string(*r.attempts) : "-") + "\n";
    if (log)
      for (const auto& line : log->lines())
        if (line.find(r.request_id) != std::string::npos) tally.examples += "    " + line + "\n";
  };

  for (const LoadRequest& r : sent) {
    ++tally.total;
    ++tally.by_status[r.status];
    paths.insert(r.path);
    const auto& got = received[r.path];
    const bool must_succeed = !alive || alive(r);

    for (const auto& [backend, request] : got)
      if (request.method != r.method || request.body_hash != bodyHash(r.body) ||
          request.idempotency_key.value_or("") != r.key) {
        ++tally.mismatched;
        note(r, "received other than sent by " + backend);
      }
    if (r.status == 0) {
      ++tally.no_response;
      note(r, "no response");
      continue;
    }
    if (!r.attempts)
      ++tally.missing_attempts;
    else
      tally.retries_seen += *r.attempts - 1;
    if (r.status == 200) ++tally.ok;
    const bool unknown = r.status == 502 && r.outcome == "unknown";
    if (unknown) ++tally.unknown502;
    if (unknown && r.column == Column::UnkeyedPost) ++tally.unknown502_unkeyed;
    if (r.status == 503 && r.retry_after != "1") {
      ++tally.no_retry_after;
      note(r, "503 without Retry-After: 1");
    }
    if (r.status == 200) {
      bool recorded = false;
      for (const auto& entry : got) recorded = recorded || entry.first == r.backend;
      if (!recorded) {
        ++tally.mismatched;
        note(r, "answered by a backend that did not record it");
      }
    }

    if (r.column == Column::UnkeyedPost) {
      if (got.size() > 1) {
        ++tally.unkeyed_duplicates;
        note(r, "unkeyed POST received " + std::to_string(got.size()) + " times");
      }
      // 503 says nothing was sent; right only when no server could take it.
      const bool refused_unsent = r.status == 503 && got.empty() && !must_succeed;
      if (r.status != 200 && !unknown && !refused_unsent) {
        ++tally.unkeyed_bad;
        note(r, "unkeyed POST failed without outcome unknown");
      }
    } else if (r.status != 200 && must_succeed) {
      ++tally.safe_failures;
      note(r, std::string(columnName(r.column)) + " failed");
    }
  }
  for (const auto& [path, list] : received) tally.strays += paths.count(path) == 0;
  return tally;
}

void checkMoneySafe(const Tally& tally, int requests) {
  INFO("answers by status (0: none): " << [&] {
    std::string text;
    for (const auto& [status, count] : tally.by_status)
      text += std::to_string(status) + "=" + std::to_string(count) + " ";
    return text;
  }());
  INFO("first failures:\n" << tally.examples);
  CHECK(tally.total == requests);
  CHECK(tally.no_response == 0);
  CHECK(tally.safe_failures == 0);
  CHECK(tally.unkeyed_duplicates == 0);
  CHECK(tally.unkeyed_bad == 0);
  CHECK(tally.no_retry_after == 0);
  CHECK(tally.missing_attempts == 0);
  CHECK(tally.mismatched == 0);
  CHECK(tally.strays == 0);
}

}  // namespace fulcrum::test
