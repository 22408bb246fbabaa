#include "upstream/hash_key.h"

#include <netinet/in.h>
#include <xxhash.h>

namespace fulcrum::upstream {
namespace {

// Any fixed value: changing it would move every key to another server.
constexpr uint64_t kSeed = 0x66756c6372756dULL;

}  // namespace

uint64_t hashKeyBytes(std::string_view bytes) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), kSeed);
}

uint64_t hashSourceIp(const SocketAddress& client) {
  const sockaddr* address = client.sockaddr_ptr();
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return XXH3_64bits_withSeed(&v4->sin_addr, sizeof(v4->sin_addr), kSeed);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return XXH3_64bits_withSeed(&v6->sin6_addr, sizeof(v6->sin6_addr), kSeed);
  }
  return 0;
}

}  // namespace fulcrum::upstream
