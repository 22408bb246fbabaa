#include "core/host_name.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace fulcrum {
namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

HostName fromIpv4(const in_addr& address) {
  char text[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return HostName{text, true, (ntohl(address.s_addr) >> 24) == 127};
}

HostName fromIpv6(const in6_addr& address) {
  // A dual-stack socket reports an IPv4 peer or local address as
  // ::ffff:a.b.c.d; a browser that reached it writes a.b.c.d.
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    in_addr v4{};
    std::memcpy(&v4, address.s6_addr + 12, sizeof(v4));
    return fromIpv4(v4);
  }
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(AF_INET6, &address, text, sizeof(text));
  return HostName{text, true, IN6_IS_ADDR_LOOPBACK(&address) != 0};
}

bool nameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::optional<HostName> parseName(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty() || text.size() > kMaxName) return std::nullopt;
  std::string lower;
  lower.reserve(text.size());
  size_t label = 0;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if (!nameCharacter(c) || ++label > kMaxLabel) {
      return std::nullopt;
    }
    lower += c;
  }
  if (label == 0) return std::nullopt;
  return HostName{lower, false, false};
}

}  // namespace

std::optional<HostName> parseHostName(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    const std::string inner(text.substr(1, text.size() - 2));
    in6_addr v6{};
    if (inet_pton(AF_INET6, inner.c_str(), &v6) != 1) return std::nullopt;
    return fromIpv6(v6);
  }
  const std::string copy(text);
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) return fromIpv4(v4);
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) return fromIpv6(v6);
  // All digits and dots but no valid quad ("127.1", "300.1.1.1"): a
  // browser would have rewritten or refused it, so it names nothing here.
  if (copy.find_first_not_of("0123456789.") == std::string::npos) return std::nullopt;
  return parseName(text);
}

HostName hostNameOf(const SocketAddress& address) {
  if (address.family() == AF_INET)
    return fromIpv4(reinterpret_cast<const sockaddr_in*>(address.sockaddr_ptr())->sin_addr);
  if (address.family() == AF_INET6)
    return fromIpv6(reinterpret_cast<const sockaddr_in6*>(address.sockaddr_ptr())->sin6_addr);
  return HostName{};
}

}  // namespace fulcrum
