// A resolved IPv4/IPv6 socket address, and the parsing of the "host:port"
// form used everywhere in the config ("10.0.0.1:8080", "[::1]:8080",
// "localhost:8080"). Value type; resolution blocks (getaddrinfo), so it runs
// only at config load time on the control thread, never on a worker.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* sa, socklen_t len);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  bool isLoopback() const;
  bool isAny() const;  // 0.0.0.0 or ::
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string toString() const;
  // "127.0.0.1" or "::1": the address alone (X-Forwarded-For).
  std::string hostToString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

struct HostPort {
  std::string host;  // without brackets; may be a name, "*" or empty for "any"
  uint16_t port = 0;
};

// Splits "host:port" / "[v6]:port" / ":port". Returns false with a reason on
// malformed input (no port, port out of range, unbalanced brackets).
bool splitHostPort(std::string_view text, HostPort& out, std::string& why);

// Resolves host (numeric first, then DNS) to every address it names.
// "*" or "" is the IPv4 any-address. Returns false with getaddrinfo's reason.
bool resolve(const HostPort& hp, std::vector<SocketAddress>& out, std::string& why);

// splitHostPort + resolve, keeping the first address.
bool parseSocketAddress(std::string_view text, SocketAddress& out, std::string& why);

}  // namespace fulcrum
