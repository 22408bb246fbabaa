// The PROXY protocol (HAProxy's doc/proxy-protocol.txt, versions 1 and 2):
// the header an L4 balancer puts in front of a connection's bytes to say
// which client it carries, and the header fulcrum puts in front of its own
// connections to servers. Pure functions over bytes: no I/O, no allocation
// when parsing, safe on any input (peer bytes).
//
// What is read:
//  - v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", or "PROXY UNKNOWN...\r\n";
//    at most 107 bytes with the CRLF; single spaces; addresses of the named
//    family; ports 0-65535 in decimal without leading zeros.
//  - v2: the 12-byte signature, version 2, command LOCAL or PROXY, a length,
//    then the addresses and TLVs. TLVs are checked to fit and skipped.
//    PROXY over TCP/IPv4 or TCP/IPv6 gives addresses; LOCAL, UNSPEC, UNIX
//    and datagram families give none (the connection's own endpoints stand,
//    as the spec asks of a receiver).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/socket_address.h"

namespace fulcrum::net {

enum class ProxyVersion : uint8_t { V1 = 1, V2 = 2 };

inline constexpr size_t kProxyV1MaxLength = 107;
inline constexpr size_t kProxyV2HeaderLength = 16;  // signature, command, family, length
inline constexpr size_t kProxyV2MaxLength = kProxyV2HeaderLength + 65535;

enum class ProxyParse {
  Incomplete,  // a header may start here; more bytes are needed to know
  NotProxy,    // the bytes cannot begin a PROXY header (no signature)
  Complete,    // a whole, valid header: `out` is filled
  Malformed,   // a signature, then something the spec does not allow: `why`
};

struct ProxyHeader {
  ProxyVersion version = ProxyVersion::V1;
  // False for v2 LOCAL, v1 UNKNOWN and families without IP addresses.
  bool has_addresses = false;
  SocketAddress source;       // the client, when has_addresses
  SocketAddress destination;  // the address the client connected to
  size_t length = 0;          // bytes of the header, to drop from the input
};

// Reads a header at the start of `data`. Incomplete is never returned once
// `data` holds more than a header's maximum length.
ProxyParse parseProxyHeader(std::string_view data, ProxyHeader& out, std::string& why);

// The header that says `source` connected to `destination` (IPv4 or IPv6;
// when their families differ, the IPv4 one is sent IPv4-mapped in a TCP6
// header, as HAProxy does).
std::string encodeProxyHeader(ProxyVersion version, const SocketAddress& source,
                              const SocketAddress& destination);
// The header of a connection fulcrum makes for itself (a health check):
// v1 "PROXY UNKNOWN\r\n", v2 LOCAL with no addresses.
std::string encodeLocalProxyHeader(ProxyVersion version);

}  // namespace fulcrum::net
