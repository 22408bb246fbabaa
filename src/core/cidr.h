// Address ranges for deciding whom to trust: "10.0.0.0/8", "2001:db8::/32",
// or a plain address ("192.0.2.7", "::1"), which is a range of one. Used for
// a listener's trusted_proxies: the peers whose PROXY header and forwarding
// fields fulcrum believes. Value types, immutable once parsed; matching is a
// few integer compares, cheap enough for every accepted connection.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/socket_address.h"

namespace fulcrum {

class Cidr {
 public:
  // False with a reason for people when `text` is not an IPv4 or IPv6
  // address, optionally followed by "/prefix" (0-32, 0-128). A range whose
  // address has bits set past its prefix ("10.1.0.0/8") is refused too: it
  // is almost always a typo for a narrower range, and widening it silently
  // would trust more peers than the operator meant.
  static bool parse(std::string_view text, Cidr& out, std::string& why);

  // True when `address` (IPv4, IPv6; an IPv4-mapped IPv6 address counts as
  // its IPv4 address) lies in this range.
  bool contains(const SocketAddress& address) const;

  // "10.0.0.0/8", "::1/128": the canonical form.
  std::string toString() const;
  unsigned prefix() const { return prefix_; }

 private:
  int family_ = 0;  // AF_INET or AF_INET6
  unsigned prefix_ = 0;
  std::array<uint8_t, 16> bytes_{};  // network order; 4 used for AF_INET
};

// The ranges of one trusted_proxies list. Empty trusts nobody.
class CidrList {
 public:
  CidrList() = default;
  explicit CidrList(std::vector<Cidr> ranges) : ranges_(std::move(ranges)) {}

  bool contains(const SocketAddress& address) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<Cidr>& ranges() const { return ranges_; }

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace fulcrum
