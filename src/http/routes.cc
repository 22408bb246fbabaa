#include "http/routes.h"

#include "http/codec/parser.h"

namespace fulcrum::http {
namespace {

std::string_view withoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool hostMatches(const Route& route, std::string_view host) {
  if (route.host.empty()) return true;
  if (!route.host_wildcard) return equalsIgnoreCase(route.host, host);
  // ".example.com" matches "api.example.com", not "example.com" itself.
  return host.size() > route.host.size() &&
         equalsIgnoreCase(route.host, host.substr(host.size() - route.host.size()));
}

}  // namespace

const Route* matchRoute(const std::vector<Route>& routes, std::string_view host,
                        std::string_view path) {
  std::string_view bare_host = withoutPort(host);
  for (const Route& route : routes) {
    if (!hostMatches(route, bare_host)) continue;
    if (path.substr(0, route.path_prefix.size()) != route.path_prefix) continue;
    return &route;
  }
  return nullptr;
}

}  // namespace fulcrum::http
