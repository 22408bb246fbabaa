// A dnsmasq of the test's own on 127.0.0.1 and a free port, as the DNS
// server of fulcrum's servers from DNS (global.resolvers). Names and their
// addresses come from a hosts file that setHosts() rewrites: dnsmasq reads
// it again on SIGHUP. SRV records come from --srv-host lines given at the
// start, which SIGHUP does not re-read (a test that changes them starts
// another dnsmasq). No upstream server: any other name is REFUSED.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace fulcrum::test {

inline const char* kDnsmasq = "/usr/sbin/dnsmasq";

class Dnsmasq {
 public:
  // `srv_hosts`: --srv-host values ("_svc._tcp.test,target,port,priority,weight").
  explicit Dnsmasq(const std::string& hosts, const std::vector<std::string>& srv_hosts = {});

  // Whether it runs (false: not installed, or it could not start; why()).
  bool ok() const { return process_ != nullptr; }
  const std::string& why() const { return why_; }
  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", for global.resolvers.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Rewrites the hosts file and waits until dnsmasq has read it again.
  bool setHosts(const std::string& hosts);
  // Ends it (SIGKILL): every later query is refused by the closed port.
  void stop() { process_.reset(); }

 private:
  TempDir dir_;
  std::string hosts_path_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
  int reads_ = 0;  // "read HOSTS" lines seen so far
  std::string why_;
};

}  // namespace fulcrum::test
