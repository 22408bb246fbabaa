// The hash of a hash strategy's key (config/hash_key.h says which key):
// 64-bit xxh3 with a fixed seed, so the same key gives the same value on
// every process and every restart.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/socket_address.h"

namespace fulcrum::upstream {

uint64_t hashKeyBytes(std::string_view bytes);
// The client's address alone (not its port), so a client keeps its server.
uint64_t hashSourceIp(const SocketAddress& client);

}  // namespace fulcrum::upstream
