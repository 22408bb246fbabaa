#include "support/admin_api.h"

#include "support/json.h"
#include "support/net.h"
#include "support/scrape.h"

namespace fulcrum::test {

std::string adminApiFields(const std::string& token) {
  return "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\n";
}

std::optional<HttpMessage> callOnce(uint16_t port, const std::string& method,
                                    const std::string& path, const std::string& extra_fields) {
  Fd client = connectLoopback(port);
  if (!client) return std::nullopt;
  if (!writeAll(client.get(), method + " " + path +
                                  " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                                  extra_fields + "Content-Length: 0\r\nConnection: close\r\n\r\n"))
    return std::nullopt;
  HttpReader reader(client.get());
  return reader.response();
}

std::optional<HttpMessage> adminPost(uint16_t port, const std::string& path) {
  return callOnce(port, "POST", path, adminApiFields());
}

std::string adminTestConfig(const std::string& admin, const std::string& listen) {
  return "global: { workers: 1, log: { level: debug }, admin: { listen: " + listen + admin +
         " } }\n"
         "listeners:\n  - { name: web, listen: 127.0.0.1:0, protocol: http, upstream: pool }\n"
         "upstreams:\n  pool:\n    servers:\n"
         "      - { name: pay-a, address: 127.0.0.1:1 }\n"
         "      - { name: pay-b, address: 127.0.0.1:2 }\n";
}

std::optional<HttpMessage> rawExchange(uint16_t port, const std::string& raw) {
  Fd client = connectLoopback(port);
  if (!client || !writeAll(client.get(), raw)) return std::nullopt;
  HttpReader reader(client.get());
  return reader.response();
}

std::optional<bool> adminDrained(uint16_t port, const std::string& upstream,
                                 const std::string& server, const std::string& extra_fields) {
  auto answer = callOnce(port, "GET", "/status.json", extra_fields);
  if (!answer || answer->status != 200) return std::nullopt;
  const Json status = parseJson(answer->body);
  for (size_t u = 0; u < status["upstreams"].size(); ++u) {
    const Json& candidate = status["upstreams"][u];
    if (candidate["name"].str() != upstream) continue;
    for (size_t s = 0; s < candidate["servers"].size(); ++s)
      if (candidate["servers"][s]["name"].str() == server)
        return candidate["servers"][s]["admin_drain"].boolean();
  }
  return std::nullopt;
}

double adminRefusals(uint16_t port, const std::string& reason) {
  auto answer = callOnce(port, "GET", "/metrics");
  if (!answer || answer->status != 200) return -1;
  return sample(answer->body, "fulcrum_admin_requests_refused_total{reason=\"" + reason + "\"}")
      .value_or(-1);
}

}  // namespace fulcrum::test
