// The `servers` list of an upstream (YAML -> ServerConfig and
// DiscoveryConfig): an entry is an address, or a name whose addresses are
// found through DNS (`dns: NAME:PORT` for A and AAAA records, `srv: NAME`
// for SRV records). Part of the loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

void parseServers(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  UpstreamConfig& upstream);

// global.resolvers: a list of DNS servers, "IP" (port 53) or "IP:PORT".
void parseResolvers(YamlReader& reader, const YAML::Node& node, const std::string& path,
                    std::vector<SocketAddress>& out);

}  // namespace fulcrum::config
