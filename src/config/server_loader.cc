#include "config/server_loader.h"

#include <charconv>

#include "core/host_name.h"

namespace fulcrum::config {
namespace {

// A DNS name as `dns:` and `srv:` take it: never an IP literal (write
// `address:` for those).
std::optional<std::string> dnsName(YamlReader& reader, const YAML::Node& node,
                                   const std::string& path, std::string_view text) {
  std::optional<HostName> host = parseHostName(text);
  if (!host || host->ip || text.empty() || text.front() == '[') {
    reader.error(node, path,
                 "'" + std::string(text) + "' is not a DNS name" +
                     (host && host->ip ? " (write address: for an IP address)" : ""));
    return std::nullopt;
  }
  return host->text;
}

void parseDns(YamlReader& reader, const YAML::Node& value, const std::string& path,
              DiscoveryConfig& out) {
  auto text = reader.scalar(value, path);
  if (!text) return;
  const size_t colon = text->rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos) {
    reader.error(value, path, "expected NAME:PORT, got '" + *text + "'");
    return;
  }
  const char* first = text->data() + colon + 1;
  const char* last = text->data() + text->size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (first == last || ec != std::errc() || end != last || port == 0 || port > 65535) {
    reader.error(value, path,
                 "expected a port from 1 to 65535 after the name, got '" + *text + "'");
    return;
  }
  if (auto name = dnsName(reader, value, path, std::string_view(*text).substr(0, colon))) {
    out.name = *name;
    out.port = static_cast<uint16_t>(port);
  }
}

void parseResolve(YamlReader& reader, const YAML::Node& value, const std::string& path,
                  DiscoveryConfig& out) {
  if (!reader.expectMap(value, path)) return;
  reader.forEachKey(value, path, {{"interval"}},
                    [&](const std::string&, const YAML::Node& v, const std::string& p) {
                      if (auto d = reader.duration(v, p, Duration(100))) out.interval = *d;
                    });
}

}  // namespace

void parseServers(YamlReader& reader, const YAML::Node& node, const std::string& path,
                  UpstreamConfig& upstream) {
  if (!node.IsSequence()) {
    reader.error(node, path, "expected a list of servers");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string item_path = path + "[" + std::to_string(i) + "]";
    const YAML::Node& item = node[i];
    if (!reader.expectMap(item, item_path)) continue;
    ServerConfig server;
    DiscoveryConfig discovery;
    server.mark = markOf(item);
    discovery.mark = markOf(item);
    reader.forEachKey(
        item, item_path,
        {{"address"}, {"dns"}, {"srv"}, {"resolve"}, {"name"}, {"weight"}, {"backup"}},
        [&](const std::string& key, const YAML::Node& value, const std::string& key_path) {
          if (key == "address") {
            server.mark = markOf(value);
            reader.address(value, key_path, server.address_text, server.address);
          } else if (key == "dns") {
            discovery.mark = markOf(value);
            parseDns(reader, value, key_path, discovery);
          } else if (key == "srv") {
            discovery.mark = markOf(value);
            discovery.kind = DiscoveryConfig::Kind::Srv;
            if (auto text = reader.scalar(value, key_path))
              if (auto name = dnsName(reader, value, key_path, *text)) discovery.name = *name;
          } else if (key == "resolve") {
            parseResolve(reader, value, key_path, discovery);
          } else if (key == "name") {
            if (auto n = reader.name(value, key_path)) server.name = *n;
          } else if (key == "weight") {
            if (auto w = reader.integer(value, key_path, 0, 256)) server.weight = *w;
          } else if (key == "backup") {
            if (auto b = reader.boolean(value, key_path)) server.backup = *b;
          }
        });
    const int kinds = (item["address"] ? 1 : 0) + (item["dns"] ? 1 : 0) + (item["srv"] ? 1 : 0);
    // A wrong entry still counts as a server: "needs at least one server"
    // would only repeat the error.
    if (kinds == 0)
      reader.error(item, item_path + ".address", "a server needs an address (or dns: or srv:)");
    if (kinds > 1) reader.error(item, item_path, "write one of address, dns and srv");
    if (kinds != 1 || item["address"]) {
      if (item["resolve"])
        reader.error(item["resolve"], item_path + ".resolve", "applies to dns: and srv: only");
      upstream.servers.push_back(std::move(server));
      continue;
    }
    // Every address of the name is its own server, labelled by address.
    if (item["name"])
      reader.error(item["name"], item_path + ".name",
                   "does not apply to dns: and srv: (each address is a server, named by its "
                   "address)");
    if (discovery.kind == DiscoveryConfig::Kind::Srv) {
      for (const char* key : {"weight", "backup"})
        if (item[key])
          reader.error(item[key], item_path + "." + key,
                       "does not apply to srv: (the records give weights and priorities)");
    }
    discovery.weight = server.weight;
    discovery.backup = server.backup;
    upstream.discovery.push_back(std::move(discovery));  // an empty name was reported
  }
}

void parseResolvers(YamlReader& reader, const YAML::Node& node, const std::string& path,
                    std::vector<SocketAddress>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    reader.error(node, path, "expected a list of DNS server addresses (IP or IP:PORT)");
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    auto text = reader.scalar(node[i], item_path);
    if (!text) continue;
    SocketAddress address;
    std::string why;
    // A bare IP means the DNS port.
    std::optional<HostName> host = parseHostName(*text);
    const std::string full =
        host && host->ip
            ? (text->find(':') == std::string::npos ? *text + ":53" : "[" + host->text + "]:53")
            : *text;
    if (!parseSocketAddress(full, address, why) || address.port() == 0) {
      reader.error(node[i], item_path,
                   "bad DNS server '" + *text + "': " + (why.empty() ? "port 0" : why));
      continue;
    }
    out.push_back(address);
  }
}

}  // namespace fulcrum::config
