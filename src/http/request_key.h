// The hash key of an HTTP request for ring_hash / maglev upstreams: the
// configured header's or cookie's value, the path (with or without the
// query), or the client's address. nullopt when the request has no such
// key (the picker then falls back to round robin and counts it).
#pragma once

#include <cstdint>
#include <optional>

#include "config/hash_key.h"
#include "core/socket_address.h"
#include "http/codec/parser.h"
#include "upstream/hash_key.h"

namespace fulcrum::http {

std::optional<uint64_t> requestHashKey(const config::HashKey& key, const RequestHead& head,
                                       const SocketAddress& client);

// The value of cookie `name` in the request's Cookie fields, or empty.
std::string_view findCookie(const RequestHead& head, std::string_view name);

}  // namespace fulcrum::http
