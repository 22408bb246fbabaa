#include "config/idempotency_loader.h"

#include <algorithm>

#include "core/http_chars.h"

namespace fulcrum::config {
namespace {

// A field name: a token (RFC 9110 section 5.1).
std::optional<std::string> fieldName(YamlReader& reader, const YAML::Node& node,
                                     const std::string& path) {
  auto text = reader.scalar(node, path);
  if (!text) return std::nullopt;
  if (!core::http_chars::isToken(*text)) {
    reader.error(node, path, "expected a header field name, got '" + *text + "'");
    return std::nullopt;
  }
  return text;
}

void parseMethods(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  std::vector<std::string>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    reader.error(node, path, "expected a list of methods, such as [POST, PATCH]");
    return;
  }
  out.clear();
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    auto text = reader.scalar(node[i], item_path);
    if (!text) continue;
    const bool upper =
        std::all_of(text->begin(), text->end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (text->empty() || !upper) {
      reader.error(node[i], item_path, "expected a method in upper case, got '" + *text + "'");
      continue;
    }
    if (*text == "GET" || *text == "HEAD")
      reader.error(node[i], item_path,
                   *text +
                       " is safe to repeat and has no body to fingerprint; the ledger is for "
                       "requests that change state");
    else
      out.push_back(*text);
  }
}

// One of two words; true for `yes`.
std::optional<bool> choice(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           const char* yes, const char* no) {
  auto text = reader.scalar(node, path);
  if (!text) return std::nullopt;
  if (*text == yes) return true;
  if (*text == no) return false;
  reader.error(node, path, std::string("expected ") + yes + " or " + no + ", got '" + *text + "'");
  return std::nullopt;
}

// host:port (a numeric address or a name resolved now, never on a worker's
// loop) or unix:/path.
void parseStoreAddress(YamlReader& reader, const YAML::Node& node, const std::string& path,
                       IdempotencyStoreConfig& out) {
  out.address_mark = markOf(node);
  auto text = reader.scalar(node, path);
  if (!text) return;
  if (text->rfind("unix:", 0) == 0 && text->size() > 5) {
    out.address_text = *text;
    out.unix_path = text->substr(5);
  } else {
    reader.address(node, path, out.address_text, out.address);
  }
}

}  // namespace

void parseIdempotencyStore(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           IdempotencyStoreConfig& out) {
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(node, path,
                    {{"type"},
                     {"max_entries"},
                     {"max_memory"},
                     {"address"},
                     {"password_file"},
                     {"key_prefix"},
                     {"timeout"}},
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      if (key == "type") {
                        out.type_mark = markOf(value);
                        if (auto memory = choice(reader, value, p, "memory", "redis"))
                          out.type = *memory ? StoreType::Memory : StoreType::Redis;
                      } else if (key == "max_entries") {
                        if (auto n = reader.integer(value, p, 1, 1000000000)) out.max_entries = *n;
                      } else if (key == "max_memory") {
                        if (auto n = reader.size(value, p, 64 * 1024, uint64_t{1} << 40))
                          out.max_memory = *n;
                      } else if (key == "address") {
                        parseStoreAddress(reader, value, p, out);
                      } else if (key == "password_file") {
                        if (auto text = reader.scalar(value, p))
                          out.password_file =
                              text->empty() || text->front() == '/' || reader.baseDir().empty()
                                  ? *text
                                  : reader.baseDir() + "/" + *text;
                      } else if (key == "key_prefix") {
                        if (auto text = reader.scalar(value, p)) out.key_prefix = *text;
                      } else if (auto d = reader.duration(value, p, Duration(1))) {
                        out.timeout = *d;
                      }
                    });
  if (out.type == StoreType::Redis && !node["address"])
    reader.error(node, path + ".address", "type: redis needs an address (host:port or unix:/path)");
}

void parseRouteIdempotency(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           RouteIdempotencyConfig& out) {
  out.enabled = true;
  out.mark = markOf(node);
  // `idempotency: {}` turns the ledger on with every default.
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path,
      {{"header"},
       {"methods"},
       {"require_key"},
       {"scope"},
       {"ttl"},
       {"in_flight_timeout"},
       {"max_response"},
       {"on_store_error"},
       {"on_unknown_outcome"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& p) {
        if (key == "header") {
          if (auto name = fieldName(reader, value, p)) out.header = *name;
        } else if (key == "methods") {
          parseMethods(reader, value, p, out.methods);
        } else if (key == "require_key") {
          if (auto b = reader.boolean(value, p)) out.require_key = *b;
        } else if (key == "scope") {
          auto text = reader.scalar(value, p);
          if (!text) return;
          if (*text == "none") {
            out.scope_header.clear();
          } else if (text->rfind("header:", 0) == 0 && core::http_chars::isToken(text->substr(7))) {
            out.scope_header = text->substr(7);
          } else {
            reader.error(value, p, "expected none or header:NAME, got '" + *text + "'");
          }
        } else if (key == "ttl") {
          if (auto d = reader.duration(value, p, Duration(1000))) out.ttl = *d;
        } else if (key == "in_flight_timeout") {
          if (auto d = reader.duration(value, p, Duration(1000))) out.in_flight_timeout = *d;
        } else if (key == "max_response") {
          if (auto n = reader.size(value, p, 0, 64ull * 1024 * 1024)) out.max_response = *n;
        } else if (key == "on_store_error") {
          if (auto f = choice(reader, value, p, "forward", "reject"))
            out.forward_on_store_error = *f;
        } else if (auto hold = choice(reader, value, p, "hold", "release")) {
          out.hold_unknown = *hold;
        }
      });
  if (out.ttl < out.in_flight_timeout && node["ttl"])
    reader.error(node["ttl"], path + ".ttl",
                 "ttl must be at least in_flight_timeout: an answer must outlive its claim");
}

}  // namespace fulcrum::config
