#include "config/listener_loader.h"

#include "config/idempotency_loader.h"
#include "config/tls_loader.h"

namespace fulcrum::config {
namespace {

// Remembers the first http-only key of a listener, so the validator can
// point at it when the listener turns out to be tcp.
void noteHttpOnly(ListenerConfig& listener, const YAML::Node& key_value, const std::string& path) {
  if (listener.http_only_mark.line != 0) return;
  listener.http_only_mark = markOf(key_value);
  listener.http_only_key = path;
}

bool validHostPattern(const std::string& host) {
  std::string_view rest = host;
  if (rest.rfind("*.", 0) == 0) rest.remove_prefix(2);
  if (rest.empty() || rest.size() > 253) return false;
  for (char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  return rest.front() != '.' && rest.back() != '.';
}

void parseRoute(YamlReader& reader, const YAML::Node& item, const std::string& path,
                RouteConfig& route) {
  route.mark = markOf(item);
  reader.forEachKey(
      item, path, {{"match"}, {"upstream"}, {"allow_trace"}, {"idempotency"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& p) {
        if (key == "idempotency") {
          parseRouteIdempotency(reader, value, p, route.idempotency);
          return;
        }
        if (key == "upstream") {
          route.upstream_mark = markOf(value);
          if (auto n = reader.name(value, p)) route.upstream = *n;
          return;
        }
        if (key == "allow_trace") {
          if (auto allow = reader.boolean(value, p)) route.allow_trace = *allow;
          return;
        }
        route.has_match = true;
        if (!reader.expectMap(value, p)) return;
        reader.forEachKey(
            value, p, {{"host"}, {"path_prefix"}},
            [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
              auto text = reader.scalar(v, kp);
              if (!text) return;
              if (k == "host") {
                if (validHostPattern(*text)) {
                  route.host = *text;
                  for (char& c : route.host)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                } else {
                  reader.error(v, kp, "expected a host name or *.domain, got '" + *text + "'");
                }
              } else if (text->front() != '/') {
                reader.error(v, kp, "a path prefix starts with '/', got '" + *text + "'");
              } else {
                route.path_prefix = *text;
              }
            });
      });
  if (!item["upstream"]) reader.error(item, path + ".upstream", "a route needs an upstream");
}

void parseRoutes(YamlReader& reader, const YAML::Node& node, const std::string& path,
                 std::vector<RouteConfig>& out) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of routes");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    if (!reader.expectMap(node[i], item_path)) continue;
    RouteConfig route;
    parseRoute(reader, node[i], item_path, route);
    out.push_back(std::move(route));
  }
}

void parseLimits(YamlReader& reader, const YAML::Node& node, const std::string& path,
                 HttpLimitsConfig& limits) {
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(node, path, {{"request_line"}, {"headers"}, {"header_count"}, {"body"}},
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      constexpr uint64_t kMaxHead = 1024 * 1024;
                      if (key == "request_line") {
                        if (auto n = reader.size(value, p, 64, kMaxHead)) limits.request_line = *n;
                      } else if (key == "headers") {
                        if (auto n = reader.size(value, p, 256, kMaxHead)) limits.headers = *n;
                      } else if (key == "header_count") {
                        if (auto n = reader.integer(value, p, 1, 10000)) limits.header_count = *n;
                      } else if (auto n = reader.size(value, p, 0, UINT64_MAX)) {
                        limits.body = *n;
                      }
                    });
}

void parseTrustedProxies(YamlReader& reader, const YAML::Node& node, const std::string& path,
                         ListenerConfig& listener) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of addresses and CIDR ranges");
    return;
  }
  listener.trusted_proxies_mark = markOf(node);
  std::vector<Cidr> ranges;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    auto text = reader.scalar(node[i], item_path);
    if (!text) continue;
    Cidr range;
    std::string why;
    if (Cidr::parse(*text, range, why))
      ranges.push_back(range);
    else
      reader.error(node[i], item_path, why);
  }
  listener.trusted_proxies = CidrList(std::move(ranges));
}

void parseProxyAccept(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      ListenerConfig& listener) {
  listener.proxy_protocol_mark = markOf(node);
  auto text = reader.scalar(node, path);
  if (!text) return;
  if (*text == "off")
    listener.proxy_protocol = ProxyAccept::Off;
  else if (*text == "required")
    listener.proxy_protocol = ProxyAccept::Required;
  else if (*text == "optional")
    listener.proxy_protocol = ProxyAccept::Optional;
  else
    reader.error(node, path, "expected off, required or optional, got '" + *text + "'");
}

void parseTimeouts(YamlReader& reader, const YAML::Node& node, const std::string& path,
                   ListenerConfig& listener) {
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(node, path,
                    {{"idle"},
                     {"client_header"},
                     {"client_idle"},
                     {"client_body"},
                     {"client_body_total"},
                     {"client_send"},
                     {"upstream_send"},
                     {"request"},
                     {"proxy_header"}},
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      // The two whole-message deadlines are optional: 0 turns them off.
                      const bool optional = key == "client_body_total" || key == "request";
                      auto d = reader.duration(value, p, Duration(optional ? 0 : 1));
                      if (!d) return;
                      if (key == "idle") {
                        listener.idle_timeout = *d;
                        return;
                      }
                      if (key == "proxy_header") {
                        listener.proxy_header_timeout = *d;
                        return;
                      }
                      noteHttpOnly(listener, value, p);
                      if (key == "client_header") listener.client_header_timeout = *d;
                      if (key == "client_idle") listener.client_idle_timeout = *d;
                      if (key == "client_body") listener.client_body_timeout = *d;
                      if (key == "client_body_total") listener.client_body_total_timeout = *d;
                      if (key == "client_send") listener.client_send_timeout = *d;
                      if (key == "upstream_send") listener.upstream_send_timeout = *d;
                      if (key == "request") listener.request_timeout = *d;
                    });
}

void parseListenerKey(YamlReader& reader, const std::string& key, const YAML::Node& value,
                      const std::string& path, ListenerConfig& listener) {
  if (key == "name") {
    if (auto n = reader.name(value, path)) listener.name = *n;
  } else if (key == "listen") {
    listener.listen_mark = markOf(value);
    reader.address(value, path, listener.listen_text, listener.address);
  } else if (key == "protocol") {
    auto text = reader.scalar(value, path);
    if (!text) return;
    if (*text == "tcp")
      listener.protocol = Protocol::Tcp;
    else if (*text == "http")
      listener.protocol = Protocol::Http;
    else
      reader.error(value, path, "expected tcp or http, got '" + *text + "'");
  } else if (key == "upstream") {
    listener.upstream_mark = markOf(value);
    if (auto n = reader.name(value, path)) listener.upstream = *n;
  } else if (key == "backlog") {
    if (auto n = reader.integer(value, path, 1, 65535)) listener.backlog = *n;
  } else if (key == "defer_accept") {
    noteHttpOnly(listener, value, path);
    if (auto on = reader.boolean(value, path)) listener.defer_accept = *on;
  } else if (key == "timeouts") {
    parseTimeouts(reader, value, path, listener);
  } else if (key == "routes") {
    noteHttpOnly(listener, value, path);
    parseRoutes(reader, value, path, listener.routes);
  } else if (key == "normalize_path") {
    noteHttpOnly(listener, value, path);
    if (auto on = reader.boolean(value, path)) listener.normalize_path = *on;
  } else if (key == "tls") {
    parseListenerTls(reader, value, path, listener.tls);
  } else if (key == "limits") {
    noteHttpOnly(listener, value, path);
    listener.limits_mark = markOf(value);
    parseLimits(reader, value, path, listener.limits);
  } else if (key == "trusted_proxies") {
    parseTrustedProxies(reader, value, path, listener);
  } else if (key == "proxy_protocol") {
    parseProxyAccept(reader, value, path, listener);
  } else if (key == "request_id") {
    noteHttpOnly(listener, value, path);
    if (!reader.expectMap(value, path)) return;
    reader.forEachKey(value, path, {{"trust_client"}},
                      [&](const std::string&, const YAML::Node& v, const std::string& p) {
                        if (auto b = reader.boolean(v, p)) listener.trust_client_request_id = *b;
                      });
  }
}

}  // namespace

void parseListeners(YamlReader& reader, const YAML::Node& node, const std::string& path,
                    std::vector<ListenerConfig>& out) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of listeners");
    return;
  }
  if (node.size() == 0) reader.error(node, path, "at least one listener is required");
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    const YAML::Node& item = node[i];
    if (!reader.expectMap(item, item_path)) continue;
    ListenerConfig listener;
    listener.mark = markOf(item);
    reader.forEachKey(item, item_path,
                      {{"name"},
                       {"listen"},
                       {"protocol"},
                       {"upstream"},
                       {"routes"},
                       {"timeouts"},
                       {"limits"},
                       {"normalize_path"},
                       {"backlog"},
                       {"defer_accept"},
                       {"trusted_proxies"},
                       {"proxy_protocol"},
                       {"request_id"},
                       {"tls"}},
                      [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                        parseListenerKey(reader, key, value, p, listener);
                      });
    if (!item["name"]) reader.error(item, item_path + ".name", "a listener needs a name");
    if (!item["listen"])
      reader.error(item, item_path + ".listen", "a listener needs a listen address");
    out.push_back(std::move(listener));
  }
}

}  // namespace fulcrum::config
