// Route matching for HTTP listeners: host (exact or "*.domain") and path
// prefix, first match wins, a route with neither matches everything.
// Routes are part of an immutable Runtime; matching allocates nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/idempotency_settings.h"

namespace fulcrum::upstream {
struct Upstream;
}

namespace fulcrum::http {

struct Route {
  std::string host;            // lower case; empty = any host
  bool host_wildcard = false;  // host holds ".domain" and matches any sub-domain of it
  std::string path_prefix;     // empty = any path
  const upstream::Upstream* upstream = nullptr;
  bool allow_trace = false;  // TRACE is forwarded, else answered 405
  // The route's idempotency ledger; null: none.
  std::shared_ptr<const IdempotencySettings> idempotency;
};

// `host` is the request's Host (any case, may carry ":port"); `path` is the
// origin-form path. nullptr when no route matches (the caller answers 404).
const Route* matchRoute(const std::vector<Route>& routes, std::string_view host,
                        std::string_view path);

}  // namespace fulcrum::http
