#include <doctest/doctest.h>

#include "http/routes.h"

using namespace fulcrum::http;

namespace {

Route route(std::string host, std::string prefix) {
  Route r;
  r.host_wildcard = host.rfind("*.", 0) == 0;
  r.host = r.host_wildcard ? host.substr(1) : host;
  r.path_prefix = std::move(prefix);
  return r;
}

}  // namespace

TEST_CASE("the first matching route wins") {
  std::vector<Route> routes{route("", "/v1/payments"), route("", "/v1"), route("", "")};
  CHECK(matchRoute(routes, "h", "/v1/payments/7") == &routes[0]);
  CHECK(matchRoute(routes, "h", "/v1/refunds") == &routes[1]);
  CHECK(matchRoute(routes, "h", "/other") == &routes[2]);
}

TEST_CASE("exact hosts match case-insensitively and ignore the port") {
  std::vector<Route> routes{route("api.example.com", "")};
  CHECK(matchRoute(routes, "API.Example.COM", "/") != nullptr);
  CHECK(matchRoute(routes, "api.example.com:8443", "/") != nullptr);
  CHECK(matchRoute(routes, "www.example.com", "/") == nullptr);
  CHECK(matchRoute(routes, "api.example.com.evil", "/") == nullptr);
}

TEST_CASE("a wildcard host matches sub-domains, not the domain itself") {
  std::vector<Route> routes{route("*.example.com", "")};
  CHECK(matchRoute(routes, "a.example.com", "/") != nullptr);
  CHECK(matchRoute(routes, "a.b.example.com:80", "/") != nullptr);
  CHECK(matchRoute(routes, "example.com", "/") == nullptr);
  CHECK(matchRoute(routes, "badexample.com", "/") == nullptr);
}

TEST_CASE("host and path prefix must both match, and no route gives nothing") {
  std::vector<Route> routes{route("api.test", "/v2")};
  CHECK(matchRoute(routes, "api.test", "/v2/x") != nullptr);
  CHECK(matchRoute(routes, "api.test", "/v1/x") == nullptr);
  CHECK(matchRoute(routes, "other.test", "/v2/x") == nullptr);
  CHECK(matchRoute({}, "api.test", "/") == nullptr);
}

TEST_CASE("IPv6 literal hosts keep their brackets when the port is removed") {
  std::vector<Route> routes{route("[::1]", "")};
  CHECK(matchRoute(routes, "[::1]:8080", "/") != nullptr);
  CHECK(matchRoute(routes, "[::1]", "/") != nullptr);
}
