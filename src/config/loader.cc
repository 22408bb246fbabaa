#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "config/admin_loader.h"
#include "config/health_loader.h"
#include "config/idempotency_loader.h"
#include "config/listener_loader.h"
#include "config/retry_loader.h"
#include "config/server_loader.h"
#include "config/tls_loader.h"
#include "config/validate.h"
#include "config/yaml_reader.h"
#include "core/log.h"

namespace fulcrum::config {
namespace {

class Parser : public YamlReader {
 public:
  explicit Parser(Diagnostics& diag) : YamlReader(diag) {}

  Config parse(const YAML::Node& root) {
    Config config;
    if (!expectMap(root, "")) return config;
    if (!root["listeners"]) error(root, "listeners", "at least one listener is required");
    forEachKey(root, "", {{"global"}, {"listeners"}, {"upstreams"}},
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "global") parseGlobal(value, path, config.global);
                 if (key == "listeners") parseListeners(*this, value, path, config.listeners);
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
  void parseGlobal(const YAML::Node& node, const std::string& path, GlobalConfig& out) {
    if (!expectMap(node, path)) return;
    forEachKey(node, path,
               {{"workers"},
                {"admin"},
                {"log"},
                {"drain_grace"},
                {"drain_timeout"},
                {"max_connections"},
                {"idempotency_store"},
                {"takeover_socket"},
                {"resolvers"}},
               [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                 if (key == "workers") {
                   if (value.IsScalar() && value.Scalar() == "auto") {
                     out.workers = 0;
                   } else if (auto n = integer(value, key_path, 1, 1024, "auto or ")) {
                     out.workers = *n;
                   }
                 } else if (key == "admin") {
                   parseAdmin(*this, value, key_path, out.admin);
                 } else if (key == "log") {
                   parseLog(value, key_path, out.log);
                 } else if (key == "drain_grace") {
                   if (auto d = duration(value, key_path)) out.drain_grace = *d;
                 } else if (key == "drain_timeout") {
                   if (auto d = duration(value, key_path)) out.drain_timeout = *d;
                 } else if (key == "idempotency_store") {
                   parseIdempotencyStore(*this, value, key_path, out.idempotency_store);
                 } else if (key == "resolvers") {
                   parseResolvers(*this, value, key_path, out.resolvers);
                 } else if (key == "max_connections") {
                   if (auto n = integer(value, key_path, 1, 10000000)) out.max_connections = *n;
                 } else if (key == "takeover_socket") {
                   auto text = scalar(value, key_path);
                   // sun_path holds 108 bytes with the terminating NUL.
                   if (text && (text->empty() || text->front() != '/' || text->size() > 107))
                     error(value, key_path,
                           "expected an absolute path of at most 107 bytes, got '" + *text + "'");
                   else if (text)
                     out.takeover_socket = *text;
                 }
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
                {"hash_key"},
                {"ring_hash"},
                {"maglev"},
                {"health_check"},
                {"outlier_detection"},
                {"circuit_breaker"},
                {"retries"},
                {"slow_start"},
                {"panic_threshold"},
                {"tls"},
                {"keepalive"},
                {"limits"},
                {"proxy_protocol"}},
               [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
                 if (key == "balance") {
                   upstream.balance_mark = markOf(value);
                   if (auto text = scalar(value, key_path)) upstream.balance = *text;
                 } else if (key == "servers") {
                   parseServers(*this, value, key_path, upstream);
                 } else if (key == "timeouts") {
                   if (!expectMap(value, key_path)) return;
                   forEachKey(value, key_path, {{"connect"}, {"response"}},
                              [&](const std::string& k, const YAML::Node& v, const std::string& p) {
                                auto d = duration(v, p, Duration(1));
                                if (d && k == "connect") upstream.connect_timeout = *d;
                                if (d && k == "response") upstream.response_timeout = *d;
                              });
                 } else if (key == "hash_key") {
                   upstream.hash_key_mark = markOf(value);
                   parseHashKey(value, key_path, upstream.hash_key);
                 } else if (key == "ring_hash" || key == "maglev") {
                   upstream.hash_options.emplace_back(markOf(value), key_path);
                   parseHashOptions(key, value, key_path, upstream);
                 } else if (key == "health_check") {
                   parseHealthCheck(*this, value, key_path, upstream.health_check);
                 } else if (key == "outlier_detection") {
                   parseOutlierDetection(*this, value, key_path, upstream.outlier);
                 } else if (key == "circuit_breaker") {
                   parseCircuitBreaker(*this, value, key_path, upstream.circuit_breaker);
                 } else if (key == "retries") {
                   parseRetries(*this, value, key_path, upstream.retries);
                 } else if (key == "panic_threshold") {
                   // "50%" as Envoy writes it, or a bare 50.
                   auto text = scalar(value, key_path);
                   if (!text) return;
                   std::string digits = *text;
                   if (!digits.empty() && digits.back() == '%') digits.pop_back();
                   bool number = !digits.empty() && digits.size() <= 3;
                   for (char c : digits) number = number && c >= '0' && c <= '9';
                   if (number && std::stoi(digits) <= 100)
                     upstream.panic_threshold = static_cast<unsigned>(std::stoi(digits));
                   else
                     error(value, key_path,
                           "expected a percentage from 0% to 100%, got '" + *text + "'");
                 } else if (key == "slow_start") {
                   upstream.slow_start_mark = markOf(value);
                   if (auto d = duration(value, key_path)) {
                     if (*d > std::chrono::hours(1))
                       error(value, key_path, "must be at most 1h, got '" + value.Scalar() + "'");
                     else
                       upstream.slow_start = *d;
                   }
                 } else if (key == "limits") {
                   if (!expectMap(value, key_path)) return;
                   forEachKey(value, key_path, {{"headers"}, {"interim_responses"}},
                              [&](const std::string& k, const YAML::Node& v, const std::string& p) {
                                if (k == "headers") {
                                  if (auto n = size(v, p, 256, 1024 * 1024))
                                    upstream.response_head_limit = *n;
                                } else if (auto n = integer(v, p, 0, 100)) {
                                  upstream.max_interim_responses = *n;
                                }
                              });
                 } else if (key == "tls") {
                   parseUpstreamTls(*this, value, key_path, upstream.tls);
                 } else if (key == "proxy_protocol") {
                   auto text = scalar(value, key_path);
                   if (text && *text == "v1") upstream.proxy_protocol = net::ProxyVersion::V1;
                   if (text && *text == "v2") upstream.proxy_protocol = net::ProxyVersion::V2;
                   if (text && *text != "v1" && *text != "v2" && *text != "off")
                     error(value, key_path, "expected v1, v2 or off, got '" + *text + "'");
                 } else if (key == "keepalive") {
                   if (!expectMap(value, key_path)) return;
                   forEachKey(value, key_path, {{"max_idle"}, {"idle_timeout"}},
                              [&](const std::string& k, const YAML::Node& v, const std::string& p) {
                                if (k == "max_idle") {
                                  if (auto n = integer(v, p, 0, 10000))
                                    upstream.keepalive_max_idle = *n;
                                } else if (auto d = duration(v, p, Duration(1))) {
                                  upstream.keepalive_idle_timeout_mark = markOf(v);
                                  upstream.keepalive_idle_timeout = *d;
                                }
                              });
                 }
               });
  }

  void parseHashKey(const YAML::Node& node, const std::string& path, config::HashKey& out) {
    using Kind = config::HashKey::Kind;
    auto text = scalar(node, path);
    if (!text) return;
    auto named = [&](std::string_view prefix, Kind kind) {
      if (text->rfind(prefix, 0) != 0) return false;
      std::string name = text->substr(prefix.size());
      bool ok = !name.empty();
      for (char c : name) ok = ok && c > 0x20 && c < 0x7f && c != ':' && c != ';' && c != '=';
      if (!ok)
        error(node, path,
              "expected a name after '" + std::string(prefix) + "', got '" + *text + "'");
      else
        out = config::HashKey{kind, name};
      return true;
    };
    if (*text == "source_ip")
      out = config::HashKey{Kind::SourceIp, ""};
    else if (*text == "uri")
      out = config::HashKey{Kind::Uri, ""};
    else if (*text == "uri_with_query")
      out = config::HashKey{Kind::UriWithQuery, ""};
    else if (named("header:", Kind::Header) || named("cookie:", Kind::Cookie))
      return;
    else
      error(node, path,
            "expected source_ip, header:NAME, cookie:NAME, uri or uri_with_query, got '" + *text +
                "'");
  }

  void parseHashOptions(const std::string& which, const YAML::Node& node, const std::string& path,
                        UpstreamConfig& upstream) {
    if (!expectMap(node, path)) return;
    if (which == "ring_hash") {
      forEachKey(node, path, {{"points_per_weight"}},
                 [&](const std::string&, const YAML::Node& v, const std::string& p) {
                   if (auto n = integer(v, p, 1, 1000)) upstream.ring_points_per_weight = *n;
                 });
      return;
    }
    forEachKey(node, path, {{"table_size"}},
               [&](const std::string&, const YAML::Node& v, const std::string& p) {
                 auto n = integer(v, p, 7, 1000003);
                 if (!n) return;
                 bool prime = *n > 1;
                 for (unsigned d = 2; prime && d * d <= *n; ++d) prime = *n % d != 0;
                 if (!prime)
                   error(v, p, "must be a prime number, got " + std::to_string(*n));
                 else
                   upstream.maglev_table_size = *n;
               });
  }
};

LoadResult finish(const YAML::Node& root, Diagnostics& diag, const std::string& display_name,
                  const StrategyNames& strategies) {
  Parser parser(diag);
  // Relative file names in the config (certificates, keys) are read from
  // the config file's folder, whatever the working directory.
  const size_t slash = display_name.rfind('/');
  parser.setBaseDir(slash == std::string::npos ? "" : display_name.substr(0, slash));
  Config config;
  try {
    config = parser.parse(root);
  } catch (const YAML::Exception& e) {
    // The parser checks node kinds before reading them; this is a backstop
    // so no input can escape as an exception.
    diag.error(Mark{e.mark.line + 1, e.mark.column + 1}, "", "cannot read this config: " + e.msg);
  }
  config.file = display_name;
  validate(config, strategies, diag);
  LoadResult result;
  result.errors = diag.sorted();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult parseText(const std::string& yaml, const std::string& display_name,
                     const StrategyNames& strategies) {
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
  return finish(root, diag, display_name, strategies);
}

}  // namespace

LoadResult loadConfigFile(const std::string& path, const StrategyNames& strategies) {
  std::ifstream in(path);
  if (!in) {
    Diagnostics diag(path);
    diag.error(Mark{}, "", std::string("cannot read the file: ") + std::strerror(errno));
    return LoadResult{std::nullopt, diag.sorted()};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseText(text.str(), path, strategies);
}

LoadResult loadConfigText(const std::string& yaml, const std::string& display_name,
                          const StrategyNames& strategies) {
  return parseText(yaml, display_name, strategies);
}

}  // namespace fulcrum::config
