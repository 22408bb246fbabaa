// Which part of a connection or request a hash strategy (ring_hash,
// maglev) hashes, as the config file names it. The hashing itself is
// upstream/hash_key.h.
#pragma once

#include <string>

namespace fulcrum::config {

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

}  // namespace fulcrum::config
