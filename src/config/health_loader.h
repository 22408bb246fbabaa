// The health keys of an upstream: `health_check`, `outlier_detection` and
// `circuit_breaker` (YAML -> typed config). Part of the loader (loader.h);
// cross-key rules (keys of another check type, slow_start with a strategy
// that ignores weights) are the validator's.
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseHealthCheck(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      HealthCheckConfig& out);
void parseOutlierDetection(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           OutlierConfig& out);
void parseCircuitBreaker(YamlReader& reader, const YAML::Node& node, const std::string& path,
                         CircuitBreakerConfig& out);

}  // namespace fulcrum::config
