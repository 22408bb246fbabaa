// Where an admin request was sent and where it comes from: the pure checks
// behind the admin listener's defences against browsers.
//  - DNS rebinding: a page on attacker.example whose name now resolves to
//    127.0.0.1 reaches the listener, but its requests say
//    "Host: attacker.example": only the listener's own address, its
//    loopback names and the names in global.admin.hosts are answered.
//  - Cross-site requests: a page may POST "simple" requests anywhere
//    without asking first; its browser says so in Origin and
//    Sec-Fetch-Site, and its Content-Type can only be a form's or text's.
// No I/O; request_gate.h applies them to requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_name.h"
#include "core/socket_address.h"

namespace fulcrum::admin {

// A Host field, or the host and port of an Origin.
struct Authority {
  HostName host;
  int port = -1;  // -1: not given
};

// "name", "name:port", "192.0.2.1:9901", "[::1]", "[::1]:9901" (names
// case-insensitive, an empty port after ':' as none). Returns nullopt for
// anything else: userinfo, a path, a bad port, an unbracketed IPv6 literal.
std::optional<Authority> parseAuthority(std::string_view text);

// True when an admin listener reached at `local` (the connection's local
// address, so a wildcard listener is judged by the address the client
// dialled) answers to `authority`: `local`'s own literal; "localhost" and
// any loopback literal when `local` is loopback; a name or literal in
// `hosts` (HostName texts). The port is not compared: port forwarding
// (docker -p, kubectl port-forward, ssh -L) changes it, and a rebinding
// page is told apart by its name, whatever port it uses.
bool hostAllowed(const Authority& authority, const SocketAddress& local,
                 const std::vector<std::string>& hosts);

struct Origin {
  bool https = false;
  Authority authority;
};

// "http://host[:port]" or "https://host[:port]" as browsers serialise an
// origin (scheme case-insensitive). Returns nullopt for "null" (sandboxed
// frames, file: pages, redirects across origins), other schemes, a path
// and anything malformed: none of those is the admin listener's origin.
std::optional<Origin> parseOrigin(std::string_view text);

// True when `origin` names the host and port of `target`, the authority
// the request was sent to (its port defaults as the origin's scheme's).
bool sameOrigin(const Origin& origin, const Authority& target);

// Sec-Fetch-Site: only "same-origin" (case-insensitive) is the listener's
// own page; "same-site", "cross-site" and "none" (typed or bookmarked) are
// not.
bool sameOriginFetch(std::string_view sec_fetch_site);

// "application/json", any case, with or without parameters
// ("; charset=utf-8"). Browsers cannot send it across sites without a
// preflight, which the listener never grants.
bool isJsonMediaType(std::string_view content_type);

}  // namespace fulcrum::admin
