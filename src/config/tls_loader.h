// The `tls:` mappings of the config (listeners now): YAML -> the typed TLS
// settings, with file paths resolved against the config file's folder.
// Files are not read here: tls_check.h reads them, for `fulcrum -t` and
// every reload. Part of the loader (loader.h).
#pragma once

#include <string>

#include "config/schema.h"
#include "config/yaml_reader.h"

namespace fulcrum::config {

// Relative file names are taken from reader.baseDir().
void parseListenerTls(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      ListenerTlsConfig& out);

// `file` as written, or under `base_dir` when it is relative.
std::string resolvePath(const std::string& base_dir, const std::string& file);

}  // namespace fulcrum::config
