// Which part of a connection or request a hash strategy (ring_hash,
// maglev) hashes, and the hash itself: 64-bit xxh3 with a fixed seed, so
// the same key gives the same value on every process and every restart.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/socket_address.h"

namespace fulcrum::upstream {

struct HashKey {
  enum class Kind {
    None,          // no hash_key configured
    SourceIp,      // the client's address (TCP and HTTP)
    Header,        // a request header's value (HTTP)
    Cookie,        // a request cookie's value (HTTP)
    Uri,           // the request path without the query (HTTP)
    UriWithQuery,  // the request path with the query (HTTP)
  };
  Kind kind = Kind::None;
  std::string name;  // Header / Cookie: the field or cookie name

  // "source_ip", "header:X-Merchant-Id", ... for messages and docs.
  std::string describe() const;
};

uint64_t hashKeyBytes(std::string_view bytes);
// The client's address alone (not its port), so a client keeps its server.
uint64_t hashSourceIp(const SocketAddress& client);

}  // namespace fulcrum::upstream
