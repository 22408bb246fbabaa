#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "config/validate.h"
#include "core/log.h"

namespace fulcrum::config {
namespace {

// A key of a mapping: supported now, or reserved for a feature that is not
// built yet (rejected with a clear message instead of being ignored).
struct KeySpec {
  const char* name;
  bool supported = true;
};
constexpr bool kLater = false;

Mark markOf(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class Parser {
 public:
  explicit Parser(Diagnostics& diag) : diag_(diag) {}

  Config parse(const YAML::Node& root) {
    Config config;
    if (!expectMap(root, "")) return config;
    if (!root["listeners"]) error(root, "listeners", "at least one listener is required");
    forEachKey(root, "", {{"global"}, {"listeners"}, {"upstreams"}},
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "global") parseGlobal(value, path, config.global);
                 if (key == "listeners") parseListeners(value, path, config.listeners);
                 if (key == "upstreams") parseUpstreams(value, path, config.upstreams);
               });
    AdminConfig& admin = config.global.admin;
    if (admin.listen.length() == 0) {
      // Not given, or given wrong (already reported): the default applies.
      std::string why;
      parseSocketAddress(admin.listen_text, admin.listen, why);
    }
    return config;
  }

 private:
  void error(const YAML::Node& node, const std::string& path, std::string message) {
    diag_.error(markOf(node), path, std::move(message));
  }

  bool expectMap(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    error(node, path, "expected a mapping (key: value)");
    return false;
  }

  // Calls handle(key, value, path) for each supported key, in file order;
  // reports unknown, duplicate and not-yet-supported keys.
  template <class Handle>
  void forEachKey(const YAML::Node& map, const std::string& path,
                  std::initializer_list<KeySpec> keys, Handle&& handle) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      if (!key_node.IsScalar()) {
        error(key_node, path, "a key must be a plain name");
        continue;
      }
      std::string key = key_node.Scalar();
      std::string key_path = join(path, key);
      const KeySpec* spec = nullptr;
      for (const auto& candidate : keys)
        if (key == candidate.name) spec = &candidate;
      if (spec == nullptr) {
        std::string valid;
        const char* closest = nullptr;
        for (const auto& candidate : keys) {
          valid += (valid.empty() ? "" : ", ") + std::string(candidate.name);
          // Close enough to be a typo, not just another short word.
          size_t limit = std::max<size_t>(1, std::min<size_t>(2, key.size() / 3));
          if (closest == nullptr && editDistance(key, candidate.name) <= limit)
            closest = candidate.name;
        }
        std::string hint = closest ? std::string("; did you mean '") + closest + "'?" : "";
        error(key_node, key_path, "unknown key" + hint + " (valid here: " + valid + ")");
        continue;
      }
      if (!seen.insert(key).second) {
        error(key_node, key_path, "duplicate key");
        continue;
      }
      if (!spec->supported) {
        error(key_node, key_path, "not supported yet by this version of fulcrum");
        continue;
      }
      if (entry.second.IsNull()) {
        error(key_node, key_path, "a value is required");
        continue;
      }
      handle(key, entry.second, key_path);
    }
  }

  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar() && !node.Scalar().empty()) return node.Scalar();
    error(node, path, node.IsNull() ? "a value is required" : "expected a single value");
    return std::nullopt;
  }

  // `alternatives` prefixes the expectation in the message ("auto or ").
  std::optional<unsigned> integer(const YAML::Node& node, const std::string& path, unsigned min,
                                  unsigned max, const char* alternatives = "") {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
      error(node, path,
            std::string("expected ") + alternatives + "a whole number from " + std::to_string(min) +
                " to " + std::to_string(max) + ", got '" + *text + "'");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    if (*text == "true") return true;
    if (*text == "false") return false;
    error(node, path, "expected true or false, got '" + *text + "'");
    return std::nullopt;
  }

  // `min` rejects values that cannot work (a 0ms connect timeout fails
  // every connect).
  std::optional<Duration> duration(const YAML::Node& node, const std::string& path,
                                   Duration min = Duration(0)) {
    auto text = scalar(node, path);
    if (!text) return std::nullopt;
    std::string why;
    auto value = parseDuration(*text, why);
    if (!value) {
      error(node, path, why + ", got '" + *text + "'");
    } else if (*value < min) {
      error(node, path, "must be at least " + formatDuration(min) + ", got '" + *text + "'");
      return std::nullopt;
    }
    return value;
  }

  bool address(const YAML::Node& node, const std::string& path, std::string& text,
               SocketAddress& out) {
    auto value = scalar(node, path);
    if (!value) return false;
    std::string why;
    if (!parseSocketAddress(*value, out, why)) {
      error(node, path, "bad address '" + *value + "': " + why);
      return false;
    }
    text = *value;
    return true;
  }

  std::optional<std::string> name(const YAML::Node& node, const std::string& path) {
    auto value = scalar(node, path);
    if (value && !validName(*value)) {
      error(node, path,
            "'" + *value + "' is not a valid name (1-64 of letters, digits, '_', '-', '.')");
      return std::nullopt;
    }
    return value;
  }

  void parseGlobal(const YAML::Node& node, const std::string& path, GlobalConfig& out) {
    if (!expectMap(node, path)) return;
    forEachKey(node, path, {{"workers"}, {"admin"}, {"log"}, {"drain_timeout"}},
               [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                 if (key == "workers") {
                   if (value.IsScalar() && value.Scalar() == "auto") {
                     out.workers = 0;
                   } else if (auto n = integer(value, key_path, 1, 1024, "auto or ")) {
                     out.workers = *n;
                   }
                 } else if (key == "admin") {
                   parseAdmin(value, key_path, out.admin);
                 } else if (key == "log") {
                   parseLog(value, key_path, out.log);
                 } else if (key == "drain_timeout") {
                   if (auto d = duration(value, key_path)) out.drain_timeout = *d;
                 }
               });
  }

  void parseAdmin(const YAML::Node& node, const std::string& path, AdminConfig& out) {
    if (!expectMap(node, path)) return;
    forEachKey(node, path, {{"listen"}, {"token", kLater}},
               [&](const std::string&, const YAML::Node& value, const std::string& key_path) {
                 address(value, key_path, out.listen_text, out.listen);
               });
  }

  void parseLog(const YAML::Node& node, const std::string& path, LogConfig& out) {
    if (!expectMap(node, path)) return;
    forEachKey(
        node, path, {{"level"}, {"access"}},
        [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
          auto text = scalar(value, key_path);
          if (!text) return;
          if (key == "level") {
            if (log::parseLevel(*text))
              out.level = *text;
            else
              error(value, key_path, "expected debug, info, warn or error, got '" + *text + "'");
          } else if (*text == "off") {
            out.access = AccessLogTarget::Off;
          } else if (*text == "stdout") {
            out.access = AccessLogTarget::Stdout;
          } else if (text->front() == '/') {
            out.access = AccessLogTarget::File;
            out.access_path = *text;
          } else {
            error(value, key_path, "expected off, stdout or an absolute path, got '" + *text + "'");
          }
        });
  }

  void parseListeners(const YAML::Node& node, const std::string& path,
                      std::vector<ListenerConfig>& out) {
    if (!node.IsSequence()) {
      error(node, path, "expected a list of listeners");
      return;
    }
    if (node.size() == 0) error(node, path, "at least one listener is required");
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      const YAML::Node& item = node[i];
      if (!expectMap(item, item_path)) continue;
      ListenerConfig listener;
      listener.mark = markOf(item);
      forEachKey(item, item_path,
                 {{"name"},
                  {"listen"},
                  {"protocol"},
                  {"upstream"},
                  {"timeouts"},
                  {"backlog"},
                  {"routes", kLater},
                  {"tls", kLater}},
                 [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                   parseListenerKey(key, value, key_path, listener);
                 });
      if (!item["name"]) error(item, item_path + ".name", "a listener needs a name");
      if (!item["listen"]) error(item, item_path + ".listen", "a listener needs a listen address");
      out.push_back(std::move(listener));
    }
  }

  void parseListenerKey(const std::string& key, const YAML::Node& value, const std::string& path,
                        ListenerConfig& listener) {
    if (key == "name") {
      if (auto n = name(value, path)) listener.name = *n;
    } else if (key == "listen") {
      listener.listen_mark = markOf(value);
      address(value, path, listener.listen_text, listener.address);
    } else if (key == "protocol") {
      auto text = scalar(value, path);
      if (!text) return;
      if (*text == "tcp")
        listener.protocol = Protocol::Tcp;
      else if (*text == "http")
        error(value, path, "protocol 'http' is not supported yet by this version of fulcrum");
      else
        error(value, path, "expected tcp or http, got '" + *text + "'");
    } else if (key == "upstream") {
      listener.upstream_mark = markOf(value);
      if (auto n = name(value, path)) listener.upstream = *n;
    } else if (key == "backlog") {
      if (auto n = integer(value, path, 1, 65535)) listener.backlog = *n;
    } else if (key == "timeouts") {
      if (!expectMap(value, path)) return;
      forEachKey(value, path, {{"idle"}, {"client_header", kLater}, {"client_idle", kLater}},
                 [&](const std::string&, const YAML::Node& v, const std::string& p) {
                   if (auto d = duration(v, p, Duration(1))) listener.idle_timeout = *d;
                 });
    }
  }

  void parseUpstreams(const YAML::Node& node, const std::string& path,
                      std::vector<UpstreamConfig>& out) {
    if (!node.IsMap()) {
      error(node, path, "expected a mapping of upstream names to upstreams");
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      std::string key_path = path + "." + (entry.first.IsScalar() ? entry.first.Scalar() : "?");
      auto upstream_name = name(entry.first, key_path);
      if (!upstream_name) continue;
      if (!seen.insert(*upstream_name).second) {
        error(entry.first, key_path, "duplicate upstream name");
        continue;
      }
      UpstreamConfig upstream;
      upstream.name = *upstream_name;
      upstream.mark = markOf(entry.first);
      parseUpstream(entry.second, key_path, upstream);
      out.push_back(std::move(upstream));
    }
  }

  void parseUpstream(const YAML::Node& node, const std::string& path, UpstreamConfig& upstream) {
    if (!expectMap(node, path)) return;
    forEachKey(node, path,
               {{"balance"},
                {"servers"},
                {"timeouts"},
                {"hash_key", kLater},
                {"health_check", kLater},
                {"outlier_detection", kLater},
                {"circuit_breaker", kLater},
                {"retries", kLater},
                {"slow_start", kLater},
                {"keepalive", kLater}},
               [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                 if (key == "balance") {
                   upstream.balance_mark = markOf(value);
                   if (auto text = scalar(value, key_path)) upstream.balance = *text;
                 } else if (key == "servers") {
                   parseServers(value, key_path, upstream.servers);
                 } else if (key == "timeouts") {
                   if (!expectMap(value, key_path)) return;
                   forEachKey(value, key_path, {{"connect"}, {"response", kLater}},
                              [&](const std::string&, const YAML::Node& v, const std::string& p) {
                                if (auto d = duration(v, p, Duration(1)))
                                  upstream.connect_timeout = *d;
                              });
                 }
               });
  }

  void parseServers(const YAML::Node& node, const std::string& path,
                    std::vector<ServerConfig>& out) {
    if (!node.IsSequence()) {
      error(node, path, "expected a list of servers");
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      const YAML::Node& item = node[i];
      if (!expectMap(item, item_path)) continue;
      ServerConfig server;
      server.mark = markOf(item);
      forEachKey(item, item_path, {{"address"}, {"name"}, {"weight"}, {"backup"}},
                 [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                   if (key == "address") {
                     server.mark = markOf(value);
                     address(value, key_path, server.address_text, server.address);
                   } else if (key == "name") {
                     if (auto n = name(value, key_path)) server.name = *n;
                   } else if (key == "weight") {
                     if (auto w = integer(value, key_path, 1, 256)) server.weight = *w;
                   } else if (key == "backup") {
                     if (auto b = boolean(value, key_path)) server.backup = *b;
                   }
                 });
      if (!item["address"]) error(item, item_path + ".address", "a server needs an address");
      out.push_back(std::move(server));
    }
  }

  Diagnostics& diag_;
};

LoadResult finish(const YAML::Node& root, Diagnostics& diag, const std::string& display_name) {
  Parser parser(diag);
  Config config;
  try {
    config = parser.parse(root);
  } catch (const YAML::Exception& e) {
    // The parser checks node kinds before reading them; this is a backstop
    // so no input can escape as an exception.
    diag.error(Mark{e.mark.line + 1, e.mark.column + 1}, "", "cannot read this config: " + e.msg);
  }
  config.file = display_name;
  validate(config, diag);
  LoadResult result;
  result.errors = diag.sorted();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult parseText(const std::string& yaml, const std::string& display_name) {
  Diagnostics diag(display_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    diag.error(Mark{e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return LoadResult{std::nullopt, diag.sorted()};
  }
  if (root.IsNull()) {
    diag.error(Mark{1, 1}, "", "the file is empty");
    return LoadResult{std::nullopt, diag.sorted()};
  }
  return finish(root, diag, display_name);
}

}  // namespace

LoadResult loadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Diagnostics diag(path);
    diag.error(Mark{}, "", std::string("cannot read the file: ") + std::strerror(errno));
    return LoadResult{std::nullopt, diag.sorted()};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseText(text.str(), path);
}

LoadResult loadConfigText(const std::string& yaml, const std::string& display_name) {
  return parseText(yaml, display_name);
}

}  // namespace fulcrum::config
