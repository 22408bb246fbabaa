#include "config/health_loader.h"

#include <charconv>

namespace fulcrum::config {
namespace {

using namespace std::chrono_literals;

std::optional<Duration> boundedDuration(YamlReader& reader, const YAML::Node& node,
                                        const std::string& path, Duration min, Duration max) {
  auto value = reader.duration(node, path, min);
  if (value && *value > max) {
    reader.error(node, path,
                 "must be at most " + formatDuration(max) + ", got '" + node.Scalar() + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<unsigned> parseNumber(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "200", "200-299"; a status code is 100..599.
std::optional<StatusRange> statusRange(const std::string& text) {
  auto dash = text.find('-');
  auto low = parseNumber(std::string_view(text).substr(0, dash));
  auto high =
      dash == std::string::npos ? low : parseNumber(std::string_view(text).substr(dash + 1));
  if (!low || !high || *low < 100 || *high > 599 || *low > *high) return std::nullopt;
  return StatusRange{*low, *high};
}

void parseExpectStatus(YamlReader& reader, const YAML::Node& node, const std::string& path,
                       std::vector<StatusRange>& out) {
  std::vector<StatusRange> ranges;
  auto one = [&](const YAML::Node& item, const std::string& item_path) {
    auto text = reader.scalar(item, item_path);
    if (!text) return;
    if (auto range = statusRange(*text))
      ranges.push_back(*range);
    else
      reader.error(item, item_path,
                   "expected a status code or a range like 200-299 (100-599), got '" + *text + "'");
  };
  if (node.IsSequence()) {
    if (node.size() == 0) reader.error(node, path, "expected at least one status or range");
    for (size_t i = 0; i < node.size(); ++i) one(node[i], path + "[" + std::to_string(i) + "]");
  } else {
    one(node, path);
  }
  if (!ranges.empty()) out = std::move(ranges);
}

void parseHeaders(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (!reader.expectMap(node, path)) return;
  for (const auto& entry : node) {
    std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
    std::string key_path = path + "." + name;
    bool token = !name.empty();
    for (char c : name) token = token && c > 0x20 && c < 0x7f && c != ':';
    if (!token) {
      reader.error(entry.first, key_path, "not a valid header name");
      continue;
    }
    std::string lower;
    for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "connection" || lower == "content-length" || lower == "transfer-encoding") {
      // The probe frames its own request and closes after the answer.
      reader.error(entry.first, key_path, "set by the health check itself; remove it");
      continue;
    }
    auto value = reader.scalar(entry.second, key_path);
    if (!value) continue;
    if (value->find_first_of("\r\n") != std::string::npos) {
      reader.error(entry.second, key_path, "a header value cannot contain a line break");
      continue;
    }
    out.emplace_back(name, *value);
  }
}

}  // namespace

void parseHealthCheck(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      HealthCheckConfig& out) {
  out.enabled = true;
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path,
      {{"type"},
       {"interval"},
       {"fast_interval"},
       {"down_interval"},
       {"timeout"},
       {"rise"},
       {"fall"},
       {"jitter"},
       {"initial_state"},
       {"port"},
       {"path"},
       {"method"},
       {"host"},
       {"expect_status"},
       {"expect_body"},
       {"headers"},
       {"server_name"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
        if (key == "path" || key == "method" || key == "host" || key == "expect_status" ||
            key == "expect_body" || key == "headers")
          out.http_only_keys.emplace_back(markOf(value), key_path);
        if (key == "server_name") out.tls_only_keys.emplace_back(markOf(value), key_path);

        if (key == "type") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          if (*text == "tcp")
            out.type = CheckType::Tcp;
          else if (*text == "http")
            out.type = CheckType::Http;
          else if (*text == "tls")
            out.type = CheckType::Tls;
          else
            reader.error(value, key_path, "expected tcp, http or tls, got '" + *text + "'");
        } else if (key == "interval" || key == "fast_interval" || key == "down_interval") {
          auto d = boundedDuration(reader, value, key_path, 100ms, 1h);
          if (!d) return;
          (key == "interval"        ? out.interval
           : key == "fast_interval" ? out.fast_interval
                                    : out.down_interval) = *d;
        } else if (key == "timeout") {
          if (auto d = boundedDuration(reader, value, key_path, 10ms, 1h)) out.timeout = *d;
        } else if (key == "rise" || key == "fall") {
          if (auto n = reader.integer(value, key_path, 1, 100))
            (key == "rise" ? out.rise : out.fall) = *n;
        } else if (key == "jitter") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          auto number = text->size() > 1 && text->back() == '%'
                            ? parseNumber(std::string_view(*text).substr(0, text->size() - 1))
                            : std::nullopt;
          if (number && *number <= 50)
            out.jitter_percent = *number;
          else
            reader.error(value, key_path,
                         "expected a percentage from 0% to 50%, got '" + *text + "'");
        } else if (key == "initial_state") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          if (*text == "up" || *text == "down")
            out.initial_up = *text == "up";
          else
            reader.error(value, key_path, "expected up or down, got '" + *text + "'");
        } else if (key == "port") {
          if (auto n = reader.integer(value, key_path, 1, 65535))
            out.port = static_cast<uint16_t>(*n);
        } else if (key == "path") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          bool ok = text->front() == '/';
          for (char c : *text) ok = ok && c > 0x20 && c < 0x7f;
          if (ok)
            out.path = *text;
          else
            reader.error(value, key_path,
                         "expected a path starting with '/' without spaces, got '" + *text + "'");
        } else if (key == "method") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          if (*text == "GET" || *text == "HEAD")
            out.method = *text;
          else
            reader.error(value, key_path, "expected GET or HEAD, got '" + *text + "'");
        } else if (key == "host" || key == "server_name") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          bool ok = true;
          for (char c : *text) ok = ok && c > 0x20 && c < 0x7f && c != '/';
          if (!ok)
            reader.error(value, key_path, "expected a host name, got '" + *text + "'");
          else
            (key == "host" ? out.host : out.server_name) = *text;
        } else if (key == "expect_status") {
          parseExpectStatus(reader, value, key_path, out.expect_status);
        } else if (key == "expect_body") {
          if (auto text = reader.scalar(value, key_path)) out.expect_body = *text;
        } else if (key == "headers") {
          parseHeaders(reader, value, key_path, out.headers);
        }
      });
}

void parseOutlierDetection(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           OutlierConfig& out) {
  out = OutlierConfig::writtenDefaults();
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path,
      {{"consecutive_5xx"},
       {"consecutive_gateway_errors"},
       {"consecutive_connect_failures"},
       {"interval"},
       {"base_ejection"},
       {"max_ejection"},
       {"max_ejection_percent"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
        if (key == "consecutive_5xx" || key == "consecutive_gateway_errors" ||
            key == "consecutive_connect_failures") {
          auto n = reader.integer(value, key_path, 0, 1000);
          if (!n) return;
          (key == "consecutive_5xx"              ? out.consecutive_5xx
           : key == "consecutive_gateway_errors" ? out.consecutive_gateway_errors
                                                 : out.consecutive_connect_failures) = *n;
        } else if (key == "max_ejection_percent") {
          if (auto n = reader.integer(value, key_path, 0, 100)) out.max_ejection_percent = *n;
        } else {
          auto d = boundedDuration(reader, value, key_path, 100ms, 24h);
          if (!d) return;
          (key == "interval"        ? out.interval
           : key == "base_ejection" ? out.base_ejection
                                    : out.max_ejection) = *d;
        }
      });
  out.enabled = out.consecutive_5xx > 0 || out.consecutive_gateway_errors > 0 ||
                out.consecutive_connect_failures > 0;
}

void parseCircuitBreaker(YamlReader& reader, const YAML::Node& node, const std::string& path,
                         CircuitBreakerConfig& out) {
  out.enabled = true;
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path, {{"max_connections"}, {"max_pending"}, {"max_requests"}, {"pending_timeout"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
        if (key == "pending_timeout") {
          if (auto d = boundedDuration(reader, value, key_path, 1ms, 1h)) out.pending_timeout = *d;
          return;
        }
        auto n = reader.integer(value, key_path, 1, 1000000);
        if (!n) return;
        (key == "max_connections" ? out.max_connections
         : key == "max_pending"   ? out.max_pending
                                  : out.max_requests) = *n;
      });
}

}  // namespace fulcrum::config
