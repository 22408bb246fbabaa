// The `listeners:` section of the config: YAML -> ListenerConfig, with
// routes, timeouts and HTTP limits. Part of the loader (loader.h).
#pragma once

#include <string>
#include <vector>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseListeners(YamlReader& reader, const YAML::Node& node, const std::string& path,
                    std::vector<ListenerConfig>& out);

}  // namespace fulcrum::config
