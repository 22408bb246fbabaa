// The `tls:` mappings of the config, a listener's (termination) and an
// upstream's (origination): YAML -> the typed TLS settings, with file paths
// resolved against the config file's folder. Files are not read here:
// tls_check.h reads them, for `fulcrum -t` and every reload. Part of the
// loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

// Relative file names are taken from reader.baseDir().
void parseListenerTls(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      ListenerTlsConfig& out);
void parseUpstreamTls(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      UpstreamTlsConfig& out);

// The name a TLS connection to `server` is for: tls.server_name, else the
// host of the server's address as written ("payments-1.internal", or an
// IP literal). Empty when the address names no host (":8443").
std::string serverTlsName(const UpstreamTlsConfig& tls, const ServerConfig& server);

// `file` as written, or under `base_dir` when it is relative.
std::string resolvePath(const std::string& base_dir, const std::string& file);

}  // namespace fulcrum::config
