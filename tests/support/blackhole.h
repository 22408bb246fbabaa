// A server address whose SYNs vanish: a network namespace of the test's
// own, joined to this one by a veth pair that carries a /30 of
// 10.243.0.0/16 and nothing else, with an nft rule inside that drops TCP
// SYNs to one port. A connect to address() is neither accepted nor
// refused: it times out, as to a host that froze or behind a firewall that
// drops. Nothing listens there and no other traffic is routed there.
// Needs CAP_NET_ADMIN, `ip` (iproute2) and `nft` (nftables). The
// destructor deletes the namespace and the veth pair, also when the test
// failed or creation stopped halfway.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fulcrum::test {

class Blackhole {
 public:
  // The blackhole for `port`, or null with `why` set to the reason it
  // could not be made (no privilege, a missing tool, ...).
  static std::unique_ptr<Blackhole> create(uint16_t port, std::string& why);
  ~Blackhole();
  Blackhole(const Blackhole&) = delete;
  Blackhole& operator=(const Blackhole&) = delete;

  // "10.243.X.Y:port": the address inside the namespace.
  std::string address() const;
  // The packets the drop rule matched so far, or -1 if they cannot be read.
  long droppedSyns() const;

 private:
  Blackhole() = default;
  // Runs `ip ARGS...` (or inside the namespace: `ip netns exec NAME ...`);
  // returns "" on success, else what it printed.
  std::string ip(const std::vector<std::string>& args) const;
  std::string inNamespace(const std::vector<std::string>& argv) const;

  std::string ip_path_, nft_path_;
  std::string namespace_;  // set once created: the destructor deletes it
  std::string host_link_;  // set once created
  std::string host_address_, inner_address_;
  uint16_t port_ = 0;
};

}  // namespace fulcrum::test
