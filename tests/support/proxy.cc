#include "support/proxy.h"

#include <stdexcept>

namespace fulcrum::test {

Proxy::Proxy(const std::string& yaml) : Proxy(yaml, {}) {}

Proxy::Proxy(const std::string& yaml, const std::vector<std::string>& launcher) {
  config_path_ = dir_.write("fulcrum.yaml", yaml);
  std::vector<std::string> argv = launcher;
  argv.insert(argv.end(), {FULCRUM_BINARY, "-c", config_path_});
  process_ = std::make_unique<ChildProcess>(std::move(argv));
}

uint16_t Proxy::port(const std::string& listener) {
  auto known = ports_.find(listener);
  if (known != ports_.end()) return known->second;
  std::string marker = "listener " + listener + " (";
  auto line = process_->waitForText(marker);
  if (!line) throw std::runtime_error("listener " + listener + " never started listening");
  size_t colon = line->find(" -> ");
  size_t port_start = line->rfind(':', colon);
  auto port =
      static_cast<uint16_t>(std::stoi(line->substr(port_start + 1, colon - port_start - 1)));
  ports_[listener] = port;
  return port;
}

uint16_t Proxy::adminPort() {
  if (admin_port_ != 0) return admin_port_;
  auto line = process_->waitForText("admin listener listening on ");
  if (!line) throw std::runtime_error("the admin listener never started listening");
  size_t end = line->find(" (/metrics");
  size_t port_start = line->rfind(':', end);
  admin_port_ =
      static_cast<uint16_t>(std::stoi(line->substr(port_start + 1, end - port_start - 1)));
  return admin_port_;
}

CommandResult runFulcrum(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FULCRUM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

}  // namespace fulcrum::test
