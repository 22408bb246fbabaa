#include "config/retry_loader.h"

namespace fulcrum::config {
namespace {

using namespace std::chrono_literals;

// Fields no client can make a request keyed with: hop-by-hop ones and the
// framing (removed or rewritten), Host (every request has one), and those
// fulcrum writes itself (a request would be keyed without the client asking).
bool fulcrumOwnsField(const std::string& name) {
  static const char* const kOwned[] = {
      "connection", "keep-alive",      "proxy-connection",  "te",
      "upgrade",    "content-length",  "transfer-encoding", "host",
      "via",        "x-forwarded-for", "x-forwarded-proto", "x-request-id"};
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* owned : kOwned)
    if (lower == owned) return true;
  return false;
}

std::optional<unsigned> retryOn(const std::string& text) {
  if (text == "connect_failure") return kRetryConnectFailure;
  if (text == "reset") return kRetryReset;
  if (text == "timeout") return kRetryTimeout;
  if (text == "502") return kRetry502;
  if (text == "503") return kRetry503;
  if (text == "504") return kRetry504;
  return std::nullopt;
}

void parseOn(YamlReader& reader, const YAML::Node& node, const std::string& path, unsigned& out) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of connect_failure, reset, timeout, 502, 503, 504");
    return;
  }
  unsigned on = 0;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    auto text = reader.scalar(node[i], item_path);
    if (!text) continue;
    if (auto bit = retryOn(*text))
      on |= *bit;
    else
      reader.error(
          node[i], item_path,
          "expected connect_failure, reset, timeout, 502, 503 or 504, got '" + *text + "'");
  }
  out = on;
}

void parseBackoff(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  RetryConfig& out) {
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(node, path, {{"base"}, {"max"}},
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      auto d = reader.duration(value, p);
                      if (d) (key == "base" ? out.backoff_base : out.backoff_max) = *d;
                    });
}

}  // namespace

void parseRetries(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  RetryConfig& out) {
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path,
      {{"attempts"},
       {"budget_percent"},
       {"budget_min_per_second"},
       {"on"},
       {"non_idempotent"},
       {"idempotency_header"},
       {"retry_buffer"},
       {"per_try_timeout"},
       {"backoff"},
       {"reuse_safe_window"},
       {"attempts_header"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
        if (key == "attempts") {
          if (auto n = reader.integer(value, key_path, 1, 10)) out.attempts = *n;
        } else if (key == "budget_percent") {
          out.budget_percent_mark = markOf(value);
          if (auto n = reader.integer(value, key_path, 0, 100)) out.budget_percent = *n;
        } else if (key == "budget_min_per_second") {
          if (auto n = reader.integer(value, key_path, 0, 10000)) out.budget_min_per_second = *n;
        } else if (key == "on") {
          parseOn(reader, value, key_path, out.on);
        } else if (key == "non_idempotent") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          if (*text == "never" || *text == "if_idempotency_key")
            out.keyed_non_idempotent = *text == "if_idempotency_key";
          else
            reader.error(value, key_path,
                         "expected never or if_idempotency_key, got '" + *text + "'");
        } else if (key == "idempotency_header") {
          auto text = reader.scalar(value, key_path);
          if (!text) return;
          bool token = true;
          for (char c : *text) token = token && c > 0x20 && c < 0x7f && c != ':';
          if (!token)
            reader.error(value, key_path, "not a valid header name: '" + *text + "'");
          else if (fulcrumOwnsField(*text))
            reader.error(value, key_path,
                         "'" + *text +
                             "' is removed or written by fulcrum itself: the key must be a field "
                             "the client sends and the server gets unchanged");
          else
            out.idempotency_header = *text;
        } else if (key == "retry_buffer") {
          if (auto n = reader.size(value, key_path, 0, 16 * 1024 * 1024)) out.retry_buffer = *n;
        } else if (key == "per_try_timeout") {
          out.per_try_timeout_mark = markOf(value);
          if (auto d = reader.duration(value, key_path, 1ms)) out.per_try_timeout = *d;
        } else if (key == "backoff") {
          parseBackoff(reader, value, key_path, out);
        } else if (key == "reuse_safe_window") {
          out.reuse_safe_window_mark = markOf(value);
          if (auto d = reader.duration(value, key_path)) out.reuse_safe_window = *d;
        } else if (key == "attempts_header") {
          if (auto b = reader.boolean(value, key_path)) out.attempts_header = *b;
        }
      });
}

}  // namespace fulcrum::config
