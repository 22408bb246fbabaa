#include "config/admin_loader.h"

#include <algorithm>

#include "core/host_name.h"

namespace fulcrum::config {
namespace {

void parseToken(YamlReader& reader, const YAML::Node& node, const std::string& path,
                AdminConfig& out) {
  auto token = reader.scalar(node, path);
  if (!token) return;
  bool printable = token->size() >= 16 && token->size() <= 256;
  for (char c : *token) printable = printable && c > 0x20 && c < 0x7f;
  if (printable)
    out.token = *token;
  else
    reader.error(node, path, "expected 16 to 256 printable characters without spaces");
}

void parseHosts(YamlReader& reader, const YAML::Node& node, const std::string& path,
                std::vector<std::string>& out) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of host names, such as [admin.example.com]");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    auto text = reader.scalar(node[i], item_path);
    if (!text) continue;
    auto host = parseHostName(*text);
    if (!host) {
      reader.error(
          node[i], item_path,
          "expected a host name or an IP address, without port or wildcard, got '" + *text + "'");
      continue;
    }
    if (std::find(out.begin(), out.end(), host->text) != out.end()) {
      reader.error(node[i], item_path, "'" + *text + "' is listed twice");
      continue;
    }
    out.push_back(host->text);
  }
}

}  // namespace

void parseAdmin(YamlReader& reader, const YAML::Node& node, const std::string& path,
                AdminConfig& out) {
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(
      node, path, {{"listen"}, {"token"}, {"hosts"}, {"protect_status"}, {"max_connections"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
        if (key == "listen") {
          out.listen_mark = markOf(value);
          reader.address(value, key_path, out.listen_text, out.listen);
        } else if (key == "token") {
          out.token_mark = markOf(value);
          parseToken(reader, value, key_path, out);
        } else if (key == "hosts") {
          parseHosts(reader, value, key_path, out.hosts);
        } else if (key == "protect_status") {
          if (auto b = reader.boolean(value, key_path)) out.protect_status = *b;
        } else if (key == "max_connections") {
          if (auto n = reader.integer(value, key_path, 1, 10000)) out.max_connections = *n;
        }
      });
  // Without a token nobody could read the status: surely not what was
  // meant. (A token written wrong has its own error already.)
  if (out.protect_status && out.token.empty() && !node["token"])
    reader.error(node["protect_status"], path + ".protect_status",
                 "true needs global.admin.token: the token is what opens the status");
}

}  // namespace fulcrum::config
