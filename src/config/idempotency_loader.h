// The idempotency ledger's config: global.idempotency_store and a route's
// idempotency block -> typed structs. Part of the loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseIdempotencyStore(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           IdempotencyStoreConfig& out);
void parseRouteIdempotency(YamlReader& reader, const YAML::Node& node, const std::string& path,
                           RouteIdempotencyConfig& out);

}  // namespace fulcrum::config
