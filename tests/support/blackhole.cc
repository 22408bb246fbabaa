#include "support/blackhole.h"

#include <unistd.h>

#include <atomic>
#include <vector>

#include "support/process.h"
#include "support/scrape.h"

namespace fulcrum::test {
namespace {

constexpr auto kCommandDeadline = std::chrono::seconds(10);
constexpr const char* kTable = "fulcrum_blackhole";

// Runs argv; "" when it exited 0, else why not.
std::string run(const std::vector<std::string>& argv) {
  return commandFailure(argv, kCommandDeadline);
}

}  // namespace

std::unique_ptr<Blackhole> Blackhole::create(uint16_t port, std::string& why) {
  static std::atomic<int> serial{0};
  std::unique_ptr<Blackhole> hole(new Blackhole());
  hole->port_ = port;
  auto ip = findProgram("ip");
  auto nft = findProgram("nft");
  if (!ip || !nft) {
    why = std::string(ip ? "" : "`ip` (iproute2) ") + (nft ? "" : "`nft` (nftables) ") +
          "not found on $PATH";
    return nullptr;
  }
  hole->ip_path_ = *ip;
  hole->nft_path_ = *nft;

  // Names and a subnet of this process's own, so that parallel runs (and a
  // namespace left by a crashed one) do not meet.
  const int pid = static_cast<int>(getpid());
  const int n = serial.fetch_add(1) % 100;
  const std::string id = std::to_string(pid) + "x" + std::to_string(n);
  const std::string name = "fulcrum-bh-" + id;
  const std::string host_link = "fbh" + id + "h";  // at most 15 characters
  const std::string inner_link = "fbh" + id + "n";

  CommandResult addresses = runCommand({*ip, "-o", "-4", "addr", "show"}, kCommandDeadline);
  int slot = (pid * 8 + n) % 16384;  // a /30 of 10.243.0.0/16
  for (int tries = 0; tries < 64; ++tries, slot = (slot + 1) % 16384) {
    const std::string prefix = "10.243." + std::to_string(slot / 64) + ".";
    hole->host_address_ = prefix + std::to_string(slot % 64 * 4 + 1);
    hole->inner_address_ = prefix + std::to_string(slot % 64 * 4 + 2);
    if (addresses.output.find(hole->host_address_ + "/") == std::string::npos &&
        addresses.output.find(hole->inner_address_ + "/") == std::string::npos)
      break;
  }

  if (std::string failed = hole->ip({"netns", "add", name}); !failed.empty()) {
    why = "cannot create a network namespace: " + failed;
    return nullptr;
  }
  hole->namespace_ = name;
  const std::string rule = "add table inet " + std::string(kTable) + "; add chain inet " + kTable +
                           " input { type filter hook input priority 0; policy accept; }; "
                           "add rule inet " +
                           kTable + " input tcp dport " + std::to_string(port) +
                           " tcp flags & (syn | ack) == syn counter drop";
  std::string failed =
      hole->ip({"link", "add", host_link, "type", "veth", "peer", "name", inner_link});
  if (failed.empty()) {
    hole->host_link_ = host_link;
    for (const auto& step : std::vector<std::vector<std::string>>{
             {"link", "set", inner_link, "netns", name},
             {"addr", "add", hole->host_address_ + "/30", "dev", host_link},
             {"link", "set", host_link, "up"}}) {
      failed = hole->ip(step);
      if (!failed.empty()) break;
    }
  }
  if (failed.empty()) {
    for (const auto& step : std::vector<std::vector<std::string>>{
             {*ip, "addr", "add", hole->inner_address_ + "/30", "dev", inner_link},
             {*ip, "link", "set", inner_link, "up"},
             {*nft, rule}}) {
      failed = hole->inNamespace(step);
      if (!failed.empty()) break;
    }
  }
  if (!failed.empty()) {
    why = "cannot set up the namespace's link: " + failed;
    return nullptr;  // the destructor takes down what was made
  }
  return hole;
}

Blackhole::~Blackhole() {
  // Deleting one end of a veth pair deletes both, at once; a namespace
  // that is deleted takes its links down only later, in the kernel's time.
  if (!host_link_.empty()) ip({"link", "del", host_link_});
  if (!namespace_.empty()) ip({"netns", "del", namespace_});
}

std::string Blackhole::address() const {
  return inner_address_ + ":" + std::to_string(port_);
}

long Blackhole::droppedSyns() const {
  CommandResult listed = runCommand(
      {ip_path_, "netns", "exec", namespace_, nft_path_, "list", "chain", "inet", kTable, "input"},
      kCommandDeadline);
  const std::string marker = "counter packets ";
  const size_t at = listed.output.find(marker);
  if (listed.status != 0 || at == std::string::npos) return -1;
  return std::stol(listed.output.substr(at + marker.size()));
}

std::string Blackhole::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{ip_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string Blackhole::inNamespace(const std::vector<std::string>& argv) const {
  std::vector<std::string> full{ip_path_, "netns", "exec", namespace_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full);
}

}  // namespace fulcrum::test
