#include "http/request_log.h"

#include "core/access_log.h"
#include "core/time_text.h"

namespace fulcrum::http {
namespace {

using Clock = std::chrono::steady_clock;

bool isSet(Clock::time_point t) {
  return t.time_since_epoch().count() != 0;
}

void appendMs(std::string& out, const char* key, Clock::time_point from, Clock::time_point to) {
  out += ",\"";
  out += key;
  out += "\":";
  if (!isSet(from) || !isSet(to)) {
    out += "null";
    return;
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  char text[32];
  snprintf(text, sizeof(text), "%.3f", static_cast<double>(us) / 1000.0);
  out += text;
}

void appendField(std::string& out, const char* key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  if (value.empty())
    out += "null";
  else
    appendJsonString(out, value);
}

}  // namespace

std::string formatRequestLog(const RequestLogEntry& entry) {
  char now[32];
  formatUtcNow(now, sizeof(now));
  std::string out = "{\"time\":\"";
  out += now;
  out += "\",\"type\":\"http\"";
  appendField(out, "listener", entry.listener);
  appendField(out, "request_id", entry.request_id);
  appendField(out, "client", entry.client);
  appendField(out, "method", entry.method);
  appendField(out, "path", entry.path);
  out += ",\"status\":" + std::to_string(entry.status);
  out += ",\"bytes_in\":" + std::to_string(entry.bytes_in);
  out += ",\"bytes_out\":" + std::to_string(entry.bytes_out);
  appendField(out, "upstream", entry.upstream);
  const ExchangeResult* exchange = entry.exchange;
  appendField(out, "server",
              exchange && exchange->server ? std::string_view(exchange->server->label) : "");
  out += ",\"attempts\":" + std::to_string(exchange ? exchange->attempts : 0);
  if (exchange != nullptr && !exchange->attempt_log.empty()) {
    // Every attempt: where it went, how far it got, how it ended.
    out += ",\"attempt_log\":[";
    for (size_t i = 0; i < exchange->attempt_log.size(); ++i) {
      const AttemptRecord& attempt = exchange->attempt_log[i];
      static constexpr const char* kPhases[] = {"not_sent", "sent", "answered", "response"};
      out += i == 0 ? "{" : ",{";
      out += "\"server\":";
      appendJsonString(out, attempt.server ? std::string_view(attempt.server->label) : "");
      out += ",\"phase\":\"";
      out += kPhases[static_cast<size_t>(attempt.phase)];
      out += "\",\"outcome\":";
      appendJsonString(out, attempt.outcome);
      // The connect's time (to its failure, when it failed), then the
      // server's, from the connection to the response head or the failure.
      const bool connected = isSet(attempt.connected);
      appendMs(out, "connect_ms", attempt.started, connected ? attempt.connected : attempt.ended);
      appendMs(out, "response_ms", attempt.connected, attempt.ended);
      out += "}";
    }
    out += "]";
  }
  if (exchange != nullptr && exchange->outcome_unknown) out += ",\"outcome\":\"unknown\"";
  Clock::time_point end = Clock::now();
  appendMs(out, "duration_ms", entry.started, end);
  appendMs(out, "connect_ms", entry.started, exchange ? exchange->connected : Clock::time_point());
  appendMs(out, "upstream_response_ms", exchange ? exchange->connected : Clock::time_point(),
           exchange ? exchange->response_head : Clock::time_point());
  if (!entry.detail.empty()) appendField(out, "detail", entry.detail);
  out += "}";
  return out;
}

}  // namespace fulcrum::http
