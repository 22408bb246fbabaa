// Network namespaces of a test's own, joined by a bridge: one namespace
// (the "switch") holds the bridge, and each namespace added gets a veth
// pair, its end inside named eth0 with one address the test gives (from a
// documentation range, 192.0.2.0/24 TEST-NET-1), and lo up. Nothing is
// added to the namespace the test runs in. Names carry the PID and a
// serial, so parallel runs do not meet. The destructor deletes every
// namespace it made (and their links with them), also when creation
// stopped halfway; processes started inside must have ended before.
// Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root) and `ip` (iproute2).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fulcrum::test {

class BridgedNamespaces {
 public:
  // The switch namespace with its bridge, or null with `why` set to the
  // reason it could not be made (no privilege, no `ip`, ...).
  static std::unique_ptr<BridgedNamespaces> create(std::string& why);
  ~BridgedNamespaces();
  BridgedNamespaces(const BridgedNamespaces&) = delete;
  BridgedNamespaces& operator=(const BridgedNamespaces&) = delete;

  // Adds namespace `role` on the bridge with `address` ("192.0.2.10/24")
  // on its eth0; "" on success, else what failed.
  std::string add(const std::string& role, const std::string& address);
  // {"/path/ip", "netns", "exec", NAME}: put before a program's argv to
  // run it inside `role` (ip execs it: the PID stays the program's).
  std::vector<std::string> launcher(const std::string& role) const;
  // Moves the calling thread (only it) into `role`'s network namespace.
  bool enter(const std::string& role, std::string& why) const;

 private:
  BridgedNamespaces() = default;
  // Runs `ip ARGS...`; "" on success, else what it printed.
  std::string ip(const std::vector<std::string>& args) const;
  const std::string& name(const std::string& role) const;

  std::string ip_path_;
  std::string prefix_;                        // "fp<pid>x<serial>"
  std::string switch_;                        // set once made: deleted last
  std::map<std::string, std::string> names_;  // role -> namespace, each deleted
};

}  // namespace fulcrum::test
