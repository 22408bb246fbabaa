// What an HTTP session reads of its listener, as one config generation
// built it: routes, limits and the client-side timeouts. Part of an
// immutable generation (app::ListenerRuntime extends it with what only the
// worker needs to listen); shared by every worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "http/codec/parser.h"
#include "http/routes.h"

namespace fulcrum::http {

struct ListenerSettings {
  std::string name;
  std::chrono::milliseconds idle_timeout{0};  // tcp, and HTTP after a 101
  // HTTP listeners: routes in order (a catch-all `upstream:` is the last).
  std::vector<Route> routes;
  Limits limits;
  uint64_t max_body = 0;  // 0 = no limit
  std::chrono::milliseconds client_header_timeout{0};
  std::chrono::milliseconds client_idle_timeout{0};
  std::chrono::milliseconds client_body_timeout{0};
  std::chrono::milliseconds client_body_total_timeout{0};  // 0 = none
  std::chrono::milliseconds client_send_timeout{0};
  std::chrono::milliseconds upstream_send_timeout{0};
  std::chrono::milliseconds request_timeout{0};  // 0 = none
  // Routes always see the canonical path (codec/path_normalizer.h); this
  // says whether the server gets it too, or the path as the client sent it.
  bool normalize_path = true;
  // Connections come with their first bytes (TCP_DEFER_ACCEPT): a new
  // session reads before its socket is watched.
  bool defer_accept = false;
  // TLS terminates here: X-Forwarded-Proto says https.
  bool terminates_tls = false;
  // client_verify is optional or required: the server gets fulcrum's own
  // X-Forwarded-Client-Cert, never a client's.
  bool verifies_client_certs = false;
  // Whose forwarding fields (and PROXY header) are believed; see
  // codec/head_writer.h for what a request keeps from whom.
  CidrList trusted_proxies;
  bool trust_client_request_id = false;  // request_id.trust_client
};

}  // namespace fulcrum::http
