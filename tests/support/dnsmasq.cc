#include "support/dnsmasq.h"

#include <signal.h>
#include <unistd.h>

#include "support/net.h"
#include "support/wait.h"

namespace fulcrum::test {
namespace {

int readsOf(ChildProcess& process, const std::string& path) {
  int count = 0;
  for (const std::string& line : process.lines())
    count += line.find("read " + path) != std::string::npos;
  return count;
}

}  // namespace

Dnsmasq::Dnsmasq(const std::string& hosts, const std::vector<std::string>& srv_hosts) {
  if (access(kDnsmasq, X_OK) != 0) {
    why_ = std::string(kDnsmasq) + " is not installed (Debian: dnsmasq-base)";
    return;
  }
  hosts_path_ = dir_.write("hosts", hosts);
  // The port is free when asked; another process may take it before
  // dnsmasq binds, so a few ports are tried.
  for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
    port_ = freeLoopbackPort();
    std::vector<std::string> argv{kDnsmasq,
                                  "--keep-in-foreground",
                                  "--log-facility=-",
                                  "--port=" + std::to_string(port_),
                                  "--listen-address=127.0.0.1",
                                  "--bind-interfaces",
                                  "--no-resolv",
                                  "--no-hosts",
                                  "--conf-file=/dev/null",
                                  "--addn-hosts=" + hosts_path_,
                                  "--pid-file="};
    // As root it would switch to nobody, who may not read the test's files.
    if (geteuid() == 0) argv.push_back("--user=root");
    for (const auto& srv : srv_hosts) argv.push_back("--srv-host=" + srv);
    auto process = std::make_unique<ChildProcess>(argv);
    auto line = process->waitForLine([&](const std::string& text) {
      return text.find("read " + hosts_path_) != std::string::npos ||
             text.find("failed") != std::string::npos || text.find("FAILED") != std::string::npos;
    });
    if (line && line->find("read " + hosts_path_) != std::string::npos) {
      process_ = std::move(process);
      reads_ = 1;
    } else {
      why_ = line ? *line : "dnsmasq did not start";
    }
  }
}

bool Dnsmasq::setHosts(const std::string& hosts) {
  if (!process_) return false;
  dir_.write("hosts", hosts);
  process_->signal(SIGHUP);
  const int want = ++reads_;
  return waitUntil([&] { return readsOf(*process_, hosts_path_) >= want; }, kDeadline);
}

}  // namespace fulcrum::test
