// A host as a Host field, an Origin or a config list of names writes it: a
// DNS name, an IPv4 literal or an IPv6 literal, brought to one form so two
// spellings of the same host compare equal as strings ("LocalHost." and
// "localhost", "[0:0::1]" and "::1", "::ffff:127.0.0.1" and "127.0.0.1").
// Pure functions; no resolution ever happens here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/socket_address.h"

namespace fulcrum {

struct HostName {
  // Names: lower-case, without a trailing dot. Literals: as inet_ntop
  // writes them, an IPv4-mapped IPv6 address as plain IPv4, never brackets.
  std::string text;
  bool ip = false;        // an IPv4 or IPv6 literal
  bool loopback = false;  // a literal in 127.0.0.0/8 or ::1
};

// Parses a name (letters, digits, '-', '_' and dots; labels of 1 to 63,
// at most 253 in all), a dotted-quad IPv4 literal, or an IPv6 literal with
// or without brackets. No port, no zone ("%eth0"), no wildcard. Returns
// nullopt for anything else.
std::optional<HostName> parseHostName(std::string_view text);

// The literal of an address (its port dropped), in the same form.
HostName hostNameOf(const SocketAddress& address);

}  // namespace fulcrum
