#include "net/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace fulcrum::net {
namespace {

constexpr std::string_view kV1Signature = "PROXY ";
constexpr char kV2SignatureBytes[] = "\r\n\r\n\0\r\nQUIT\n";
constexpr std::string_view kV2Signature(kV2SignatureBytes, 12);

constexpr uint8_t kV2Version = 0x20;
constexpr uint8_t kV2Local = 0x00;
constexpr uint8_t kV2Proxy = 0x01;
constexpr uint8_t kV2Tcp4 = 0x11;
constexpr uint8_t kV2Tcp6 = 0x21;
constexpr size_t kV2Inet4Block = 12;  // two addresses, two ports
constexpr size_t kV2Inet6Block = 36;
constexpr size_t kV2UnixBlock = 216;  // two 108-byte paths

// True when the shorter of `data` and `signature` is a prefix of the other.
bool startsLike(std::string_view data, std::string_view signature) {
  const size_t length = std::min(data.size(), signature.size());
  return data.substr(0, length) == signature.substr(0, length);
}

uint16_t readU16(std::string_view data, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(data[at]) << 8 |
                               static_cast<uint8_t>(data[at + 1]));
}

SocketAddress inet4(const void* address, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  std::memcpy(&in.sin_addr, address, 4);
  in.sin_port = htons(port);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

SocketAddress inet6(const void* address, uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  std::memcpy(&in6.sin6_addr, address, 16);
  in6.sin6_port = htons(port);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6));
}

// A v1 port: 0-65535 in decimal, no sign, no leading zero.
bool parsePort(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool parseV1Address(std::string_view text, int family, uint16_t port, SocketAddress& out) {
  char buffer[INET6_ADDRSTRLEN];
  if (text.size() >= sizeof(buffer)) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  unsigned char bytes[16];
  if (inet_pton(family, buffer, bytes) != 1) return false;
  out = family == AF_INET ? inet4(bytes, port) : inet6(bytes, port);
  return true;
}

ProxyParse malformed(std::string& why, std::string text) {
  why = std::move(text);
  return ProxyParse::Malformed;
}

ProxyParse parseV1(std::string_view data, ProxyHeader& out, std::string& why) {
  const size_t lf = data.substr(0, kProxyV1MaxLength).find('\n');
  if (lf == std::string_view::npos) {
    if (data.size() >= kProxyV1MaxLength)
      return malformed(why, "v1 header without CRLF in its first 107 bytes");
    return ProxyParse::Incomplete;
  }
  if (lf == 0 || data[lf - 1] != '\r') return malformed(why, "v1 header line ends without CRLF");
  std::string_view line = data.substr(kV1Signature.size(), lf - 1 - kV1Signature.size());
  for (char c : line)
    if (c == '\r' || c == '\0') return malformed(why, "v1 header line holds a control character");
  // "UNKNOWN" may carry anything after it; the receiver ignores it.
  if (line == "UNKNOWN" || line.rfind("UNKNOWN ", 0) == 0) {
    out = ProxyHeader{ProxyVersion::V1, false, {}, {}, lf + 1};
    return ProxyParse::Complete;
  }
  std::string_view fields[5];
  size_t count = 0;
  for (bool more = true; more;) {
    if (count == 5)
      return malformed(why, "v1 header needs TCP4|TCP6 SRC DST SPORT DPORT, single-spaced");
    const size_t space = line.find(' ');
    fields[count++] = line.substr(0, space);
    more = space != std::string_view::npos;
    if (more) line.remove_prefix(space + 1);
  }
  if (count != 5)
    return malformed(why, "v1 header needs TCP4|TCP6 SRC DST SPORT DPORT, single-spaced");
  for (std::string_view field : fields)
    if (field.empty()) return malformed(why, "v1 header has an empty field (double space)");
  int family = 0;
  if (fields[0] == "TCP4")
    family = AF_INET;
  else if (fields[0] == "TCP6")
    family = AF_INET6;
  else
    return malformed(why, "v1 protocol must be TCP4, TCP6 or UNKNOWN");
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  if (!parsePort(fields[3], source_port) || !parsePort(fields[4], destination_port))
    return malformed(why, "v1 port is not a number from 0 to 65535");
  ProxyHeader header{ProxyVersion::V1, true, {}, {}, lf + 1};
  if (!parseV1Address(fields[1], family, source_port, header.source) ||
      !parseV1Address(fields[2], family, destination_port, header.destination))
    return malformed(why, std::string("v1 address is not an ") +
                              (family == AF_INET ? "IPv4" : "IPv6") + " address");
  out = header;
  return ProxyParse::Complete;
}

// Each TLV (type, 16-bit length, value) must end inside the header.
bool tlvsFit(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    const size_t length = readU16(tlvs, 1);
    if (tlvs.size() < 3 + length) return false;
    tlvs.remove_prefix(3 + length);
  }
  return true;
}

ProxyParse parseV2(std::string_view data, ProxyHeader& out, std::string& why) {
  if (data.size() < kProxyV2HeaderLength) return ProxyParse::Incomplete;
  const auto version_command = static_cast<uint8_t>(data[12]);
  const auto family = static_cast<uint8_t>(data[13]);
  const size_t length = readU16(data, 14);
  if ((version_command & 0xf0) != kV2Version) return malformed(why, "v2 header of a version not 2");
  const uint8_t command = version_command & 0x0f;
  if (command != kV2Local && command != kV2Proxy)
    return malformed(why, "v2 command is neither LOCAL nor PROXY");
  const size_t total = kProxyV2HeaderLength + length;
  if (data.size() < total) return ProxyParse::Incomplete;
  ProxyHeader header{ProxyVersion::V2, false, {}, {}, total};
  // LOCAL: the connection's own endpoints, whatever the block says.
  if (command == kV2Local) {
    out = header;
    return ProxyParse::Complete;
  }
  std::string_view block = data.substr(kProxyV2HeaderLength, length);
  size_t addresses = 0;
  switch (family) {
    case 0x00:  // UNSPEC
      break;
    case kV2Tcp4:
    case 0x12:  // UDP over IPv4
      addresses = kV2Inet4Block;
      break;
    case kV2Tcp6:
    case 0x22:  // UDP over IPv6
      addresses = kV2Inet6Block;
      break;
    case 0x31:  // UNIX stream
    case 0x32:  // UNIX datagram
      addresses = kV2UnixBlock;
      break;
    default:
      return malformed(why, "v2 address family or transport is not defined by the spec");
  }
  if (block.size() < addresses) return malformed(why, "v2 header too short for its addresses");
  if (!tlvsFit(block.substr(addresses))) return malformed(why, "v2 TLV runs past the header");
  const char* bytes = block.data();
  if (family == kV2Tcp4) {
    header.has_addresses = true;
    header.source = inet4(bytes, readU16(block, 8));
    header.destination = inet4(bytes + 4, readU16(block, 10));
  } else if (family == kV2Tcp6) {
    header.has_addresses = true;
    header.source = inet6(bytes, readU16(block, 32));
    header.destination = inet6(bytes + 16, readU16(block, 34));
  }
  out = header;
  return ProxyParse::Complete;
}

// The 16 address bytes of `address`, IPv4 as IPv4-mapped.
void mappedBytes(const SocketAddress& address, unsigned char out[16]) {
  if (address.family() == AF_INET6) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(address.sockaddr_ptr())->sin6_addr, 16);
    return;
  }
  std::memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out + 12, &reinterpret_cast<const sockaddr_in*>(address.sockaddr_ptr())->sin_addr, 4);
}

void appendU16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

bool isIp(const SocketAddress& address) {
  return address.family() == AF_INET || address.family() == AF_INET6;
}

}  // namespace

ProxyParse parseProxyHeader(std::string_view data, ProxyHeader& out, std::string& why) {
  if (data.empty()) return ProxyParse::Incomplete;
  if (startsLike(data, kV2Signature))
    return data.size() < kV2Signature.size() ? ProxyParse::Incomplete : parseV2(data, out, why);
  if (startsLike(data, kV1Signature))
    return data.size() < kV1Signature.size() ? ProxyParse::Incomplete : parseV1(data, out, why);
  return ProxyParse::NotProxy;
}

std::string encodeProxyHeader(ProxyVersion version, const SocketAddress& source,
                              const SocketAddress& destination) {
  if (!isIp(source) || !isIp(destination)) return encodeLocalProxyHeader(version);
  const bool both4 = source.family() == AF_INET && destination.family() == AF_INET;
  unsigned char from[16];
  unsigned char to[16];
  mappedBytes(source, from);
  mappedBytes(destination, to);
  if (version == ProxyVersion::V1) {
    char from_text[INET6_ADDRSTRLEN];
    char to_text[INET6_ADDRSTRLEN];
    const int family = both4 ? AF_INET : AF_INET6;
    inet_ntop(family, both4 ? from + 12 : from, from_text, sizeof(from_text));
    inet_ntop(family, both4 ? to + 12 : to, to_text, sizeof(to_text));
    return std::string("PROXY ") + (both4 ? "TCP4 " : "TCP6 ") + from_text + " " + to_text + " " +
           std::to_string(source.port()) + " " + std::to_string(destination.port()) + "\r\n";
  }
  std::string out(kV2Signature);
  out.push_back(static_cast<char>(kV2Version | kV2Proxy));
  out.push_back(static_cast<char>(both4 ? kV2Tcp4 : kV2Tcp6));
  appendU16(out, static_cast<uint16_t>(both4 ? kV2Inet4Block : kV2Inet6Block));
  const size_t skip = both4 ? 12 : 0;
  out.append(reinterpret_cast<const char*>(from) + skip, 16 - skip);
  out.append(reinterpret_cast<const char*>(to) + skip, 16 - skip);
  appendU16(out, source.port());
  appendU16(out, destination.port());
  return out;
}

std::string encodeLocalProxyHeader(ProxyVersion version) {
  if (version == ProxyVersion::V1) return "PROXY UNKNOWN\r\n";
  std::string out(kV2Signature);
  out.push_back(static_cast<char>(kV2Version | kV2Local));
  out.push_back(0);  // UNSPEC
  appendU16(out, 0);
  return out;
}

}  // namespace fulcrum::net
