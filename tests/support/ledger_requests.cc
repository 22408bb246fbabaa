#include "support/ledger_requests.h"

#include "support/http_configs.h"

namespace fulcrum::test {

RawAnswer charge(size_t index, int status) {
  const std::string body = "{\"charge\":" + std::to_string(index) + "}";
  return RawAnswer{
      "HTTP/1.1 " + std::to_string(status) +
          " Created Here\r\nContent-Type: application/json\r\nX-Charge: " + std::to_string(index) +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
      false};
}

std::string keyedPost(const std::string& key, const std::string& body,
                      const std::string& extra_fields, const std::string& path) {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\n" +
         (key.empty() ? "" : "Idempotency-Key: " + key + "\r\n") + extra_fields +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string responseBody(const std::optional<std::string>& response) {
  if (!response) return "";
  const size_t end = response->find("\r\n\r\n");
  return end == std::string::npos ? "" : response->substr(end + 4);
}

std::string comparable(const std::string& response) {
  std::string out = withoutForwardingFields(response);
  const std::string mark = "Idempotent-Replayed: true\r\n";
  if (const size_t at = out.find(mark); at != std::string::npos) out.erase(at, mark.size());
  return out;
}

std::string ledgerYaml(uint16_t backend, const std::string& options, const std::string& store) {
  HttpConfig config;
  config.servers = {backend};
  config.routes =
      "      - match: { path_prefix: /v1/payments }\n        upstream: pool\n"
      "        idempotency: { " +
      options + " }\n      - upstream: pool\n";
  config.global_extra = storeLines(store);
  return config.yaml();
}

std::string storeLines(const std::string& store) {
  return store.empty() ? "" : "  idempotency_store: { " + store + " }\n";
}

}  // namespace fulcrum::test
