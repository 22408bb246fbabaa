#include "admin/request_origin.h"

#include <algorithm>

#include "admin/request_parts.h"
#include "http/codec/parser.h"

namespace fulcrum::admin {
namespace {

constexpr int kHttpPort = 80;
constexpr int kHttpsPort = 443;

// "" (none), or 1 to 5 digits up to 65535.
std::optional<int> parsePort(std::string_view digits) {
  if (digits.empty()) return -1;
  if (digits.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

}  // namespace

std::optional<Authority> parseAuthority(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);  // a second ':' fails the port
  }
  auto name = parseHostName(host);
  auto number = parsePort(port);
  if (!name || !number) return std::nullopt;
  return Authority{*name, *number};
}

bool hostAllowed(const Authority& authority, const SocketAddress& local,
                 const std::vector<std::string>& hosts) {
  const HostName self = hostNameOf(local);
  const HostName& asked = authority.host;
  if (asked.ip && asked.text == self.text) return true;
  if (self.loopback && (asked.loopback || (!asked.ip && asked.text == "localhost"))) return true;
  return std::find(hosts.begin(), hosts.end(), asked.text) != hosts.end();
}

std::optional<Origin> parseOrigin(std::string_view text) {
  text = trimBlanks(text);
  Origin origin;
  constexpr std::string_view kHttp = "http://", kHttps = "https://";
  if (text.size() > kHttp.size() && http::equalsIgnoreCase(text.substr(0, kHttp.size()), kHttp)) {
    text.remove_prefix(kHttp.size());
  } else if (text.size() > kHttps.size() &&
             http::equalsIgnoreCase(text.substr(0, kHttps.size()), kHttps)) {
    origin.https = true;
    text.remove_prefix(kHttps.size());
  } else {
    return std::nullopt;
  }
  auto authority = parseAuthority(text);
  if (!authority) return std::nullopt;
  origin.authority = *authority;
  return origin;
}

bool sameOrigin(const Origin& origin, const Authority& target) {
  const int default_port = origin.https ? kHttpsPort : kHttpPort;
  const int origin_port = origin.authority.port >= 0 ? origin.authority.port : default_port;
  const int target_port = target.port >= 0 ? target.port : default_port;
  return origin.authority.host.text == target.host.text && origin_port == target_port;
}

bool sameOriginFetch(std::string_view sec_fetch_site) {
  return http::equalsIgnoreCase(trimBlanks(sec_fetch_site), "same-origin");
}

bool isJsonMediaType(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  return http::equalsIgnoreCase(trimBlanks(content_type.substr(0, semicolon)), "application/json");
}

}  // namespace fulcrum::admin
