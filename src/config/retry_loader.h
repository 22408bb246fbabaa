// The `retries` block of an upstream (YAML -> RetryConfig). Part of the
// loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseRetries(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  RetryConfig& out);

}  // namespace fulcrum::config
