// The `global.admin` block of the config (YAML -> AdminConfig): the
// listener's address and size, and who may use it (token, hosts,
// protect_status). Part of the loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseAdmin(YamlReader& reader, const YAML::Node& node, const std::string& path,
                AdminConfig& out);

}  // namespace fulcrum::config
