#include "core/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace fulcrum {
namespace {

// The address bytes of `address`, with an IPv4-mapped IPv6 address turned
// into its IPv4 form; family 0 when it is neither IPv4 nor IPv6.
struct RawAddress {
  int family = 0;
  std::array<uint8_t, 16> bytes{};
};

RawAddress rawOf(const SocketAddress& address) {
  RawAddress raw;
  if (address.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address.sockaddr_ptr());
    raw.family = AF_INET;
    std::memcpy(raw.bytes.data(), &in->sin_addr, 4);
  } else if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.sockaddr_ptr());
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      raw.family = AF_INET;
      std::memcpy(raw.bytes.data(), in6->sin6_addr.s6_addr + 12, 4);
    } else {
      raw.family = AF_INET6;
      std::memcpy(raw.bytes.data(), in6->sin6_addr.s6_addr, 16);
    }
  }
  return raw;
}

// The mask byte for byte `index` of a range with `prefix` bits.
uint8_t maskByte(unsigned prefix, size_t index) {
  const unsigned start = static_cast<unsigned>(index) * 8;
  if (prefix >= start + 8) return 0xff;
  if (prefix <= start) return 0;
  return static_cast<uint8_t>(0xff << (8 - (prefix - start)));
}

}  // namespace

bool Cidr::parse(std::string_view text, Cidr& out, std::string& why) {
  std::string_view host = text;
  std::string_view prefix_text;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    host = text.substr(0, slash);
    prefix_text = text.substr(slash + 1);
  }
  Cidr parsed;
  const std::string host_copy(host);
  if (inet_pton(AF_INET, host_copy.c_str(), parsed.bytes_.data()) == 1) {
    parsed.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, host_copy.c_str(), parsed.bytes_.data()) == 1) {
    parsed.family_ = AF_INET6;
  } else {
    why = "expected an IPv4 or IPv6 address or CIDR range (10.0.0.0/8, 2001:db8::/32), got '" +
          std::string(text) + "'";
    return false;
  }
  const unsigned bits = parsed.family_ == AF_INET ? 32 : 128;
  parsed.prefix_ = bits;
  if (slash != std::string_view::npos) {
    unsigned prefix = 0;
    auto [end, error] =
        std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
    if (prefix_text.empty() || prefix_text.size() > 3 || error != std::errc() ||
        end != prefix_text.data() + prefix_text.size() || prefix > bits) {
      why = "the prefix length of '" + std::string(text) + "' must be 0 to " + std::to_string(bits);
      return false;
    }
    parsed.prefix_ = prefix;
  }
  const size_t length = parsed.family_ == AF_INET ? 4 : 16;
  for (size_t i = 0; i < length; ++i) {
    if ((parsed.bytes_[i] & ~maskByte(parsed.prefix_, i)) == 0) continue;
    Cidr network = parsed;
    for (size_t j = 0; j < length; ++j) network.bytes_[j] &= maskByte(parsed.prefix_, j);
    why = "'" + std::string(text) + "' has bits set past its /" + std::to_string(parsed.prefix_) +
          " prefix; the range is " + network.toString();
    return false;
  }
  out = parsed;
  return true;
}

bool Cidr::contains(const SocketAddress& address) const {
  const RawAddress raw = rawOf(address);
  if (raw.family != family_) return false;
  const size_t length = family_ == AF_INET ? 4 : 16;
  for (size_t i = 0; i < length; ++i) {
    const uint8_t mask = maskByte(prefix_, i);
    if (mask == 0) break;
    if ((raw.bytes[i] & mask) != bytes_[i]) return false;
  }
  return true;
}

std::string Cidr::toString() const {
  char host[INET6_ADDRSTRLEN] = "";
  inet_ntop(family_ == AF_INET ? AF_INET : AF_INET6, bytes_.data(), host, sizeof(host));
  return std::string(host) + "/" + std::to_string(prefix_);
}

bool CidrList::contains(const SocketAddress& address) const {
  for (const Cidr& range : ranges_)
    if (range.contains(address)) return true;
  return false;
}

}  // namespace fulcrum
