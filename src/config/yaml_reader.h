// Reading typed values out of yaml-cpp nodes with config-grade errors:
// every problem goes to Diagnostics with the node's file:line:column and
// key path, and reading goes on so all of a file's errors are reported.
// Used by the section parsers of the config loader; control thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include "config/diagnostics.h"
#include "config/units.h"
#include "core/socket_address.h"

namespace fulcrum::config {

// A key of a mapping: supported now, or reserved for a feature that is not
// built yet (rejected with a clear message instead of being ignored).
struct KeySpec {
  const char* name;
  bool supported = true;
};
constexpr bool kLater = false;

Mark markOf(const YAML::Node& node);

class YamlReader {
 public:
  using KeyHandler =
      std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

  explicit YamlReader(Diagnostics& diag) : diag_(diag) {}

  // The folder relative file names are read from ("" = the working one).
  void setBaseDir(std::string dir) { base_dir_ = std::move(dir); }
  const std::string& baseDir() const { return base_dir_; }

  void error(const YAML::Node& node, const std::string& path, std::string message);
  bool expectMap(const YAML::Node& node, const std::string& path);
  // Calls handle(key, value, path) for each supported key with a value, in
  // file order; reports unknown, duplicate, not-yet-supported and empty keys.
  void forEachKey(const YAML::Node& map, const std::string& path,
                  std::initializer_list<KeySpec> keys, const KeyHandler& handle);

  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path);
  // `alternatives` prefixes the expectation in the message ("auto or ").
  std::optional<unsigned> integer(const YAML::Node& node, const std::string& path, unsigned min,
                                  unsigned max, const char* alternatives = "");
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);
  // `min` rejects values that cannot work (a 0ms connect timeout fails
  // every connect).
  std::optional<Duration> duration(const YAML::Node& node, const std::string& path,
                                   Duration min = Duration(0));
  std::optional<uint64_t> size(const YAML::Node& node, const std::string& path, uint64_t min,
                               uint64_t max);
  bool address(const YAML::Node& node, const std::string& path, std::string& text,
               SocketAddress& out);
  // A config name (listener, upstream, server): 1-64 of [A-Za-z0-9_.-].
  std::optional<std::string> name(const YAML::Node& node, const std::string& path);

 private:
  Diagnostics& diag_;
  std::string base_dir_;
};

}  // namespace fulcrum::config
