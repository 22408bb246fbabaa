#include "support/bridged_namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "support/process.h"
#include "support/scrape.h"

namespace fulcrum::test {
namespace {

constexpr auto kCommandDeadline = std::chrono::seconds(10);

}  // namespace

std::unique_ptr<BridgedNamespaces> BridgedNamespaces::create(std::string& why) {
  static std::atomic<int> serial{0};
  if (geteuid() != 0) {
    why = "network namespaces need root";
    return nullptr;
  }
  auto ip = findProgram("ip");
  if (!ip) {
    why = "`ip` (iproute2) not found on $PATH";
    return nullptr;
  }
  std::unique_ptr<BridgedNamespaces> made(new BridgedNamespaces());
  made->ip_path_ = *ip;
  made->prefix_ =
      "fp" + std::to_string(static_cast<int>(getpid())) + "x" + std::to_string(serial.fetch_add(1));
  const std::string name = made->prefix_ + "-switch";
  if (std::string failed = made->ip({"netns", "add", name}); !failed.empty()) {
    why = "cannot create a network namespace: " + failed;
    return nullptr;
  }
  made->switch_ = name;
  for (const auto& step :
       std::vector<std::vector<std::string>>{{"-n", name, "link", "add", "br0", "type", "bridge"},
                                             {"-n", name, "link", "set", "br0", "up"}}) {
    if (std::string failed = made->ip(step); !failed.empty()) {
      why = "cannot make the bridge: " + failed;
      return nullptr;  // the destructor deletes the namespace
    }
  }
  return made;
}

BridgedNamespaces::~BridgedNamespaces() {
  // A namespace's links go with it: the switch's veth ends last.
  for (const auto& [role, name] : names_) ip({"netns", "del", name});
  if (!switch_.empty()) ip({"netns", "del", switch_});
}

std::string BridgedNamespaces::add(const std::string& role, const std::string& address) {
  const std::string name = prefix_ + "-" + role;
  if (std::string failed = ip({"netns", "add", name}); !failed.empty()) return failed;
  names_[role] = name;
  // The bridge's end of the pair: "p" and a number, well within the 15
  // characters of an interface name.
  const std::string port = "p" + std::to_string(names_.size());
  for (const auto& step :
       std::vector<std::vector<std::string>>{{"-n", switch_, "link", "add", port, "type", "veth",
                                              "peer", "name", "eth0", "netns", name},
                                             {"-n", switch_, "link", "set", port, "master", "br0"},
                                             {"-n", switch_, "link", "set", port, "up"},
                                             {"-n", name, "addr", "add", address, "dev", "eth0"},
                                             {"-n", name, "link", "set", "eth0", "up"},
                                             {"-n", name, "link", "set", "lo", "up"}}) {
    if (std::string failed = ip(step); !failed.empty()) return failed;
  }
  return "";
}

std::vector<std::string> BridgedNamespaces::launcher(const std::string& role) const {
  return {ip_path_, "netns", "exec", name(role)};
}

bool BridgedNamespaces::enter(const std::string& role, std::string& why) const {
  const std::string path = "/run/netns/" + name(role);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = path + ": " + std::strerror(errno);
    return false;
  }
  const bool entered = setns(fd, CLONE_NEWNET) == 0;
  if (!entered) why = "setns " + path + ": " + std::strerror(errno);
  close(fd);
  return entered;
}

std::string BridgedNamespaces::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{ip_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return commandFailure(argv, kCommandDeadline);
}

const std::string& BridgedNamespaces::name(const std::string& role) const {
  static const std::string none;
  auto found = names_.find(role);
  return found == names_.end() ? none : found->second;
}

}  // namespace fulcrum::test
