#include "config/tls_loader.h"

#include "core/host_name.h"

namespace fulcrum::config {
namespace {

struct FilePair {
  std::string certificate, key;
  Mark certificate_mark, key_mark;
};

// `{ certificate: FILE, key: FILE }`, both required.
void parsePair(YamlReader& reader, const YAML::Node& node, const std::string& path,
               const std::string& base_dir, FilePair& pair) {
  if (!reader.expectMap(node, path)) return;
  reader.forEachKey(node, path, {{"certificate"}, {"key"}},
                    [&](const std::string& key, const YAML::Node& value, const std::string& p) {
                      auto text = reader.scalar(value, p);
                      if (!text) return;
                      if (key == "certificate") {
                        pair.certificate = resolvePath(base_dir, *text);
                        pair.certificate_mark = markOf(value);
                      } else {
                        pair.key = resolvePath(base_dir, *text);
                        pair.key_mark = markOf(value);
                      }
                    });
  if (!node["certificate"])
    reader.error(node, path + ".certificate", "a certificate file is needed");
  if (!node["key"]) reader.error(node, path + ".key", "a key file is needed");
}

void addPair(ListenerTlsConfig& out, const FilePair& pair) {
  out.settings.certificates.push_back(tls::CertificateFiles{pair.certificate, pair.key});
  out.certificate_marks.push_back(pair.certificate_mark);
  out.key_marks.push_back(pair.key_mark);
}

}  // namespace

std::string resolvePath(const std::string& base_dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || base_dir.empty()) return file;
  return base_dir + "/" + file;
}

void parseListenerTls(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      ListenerTlsConfig& out) {
  const std::string& base_dir = reader.baseDir();
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  out.enabled = true;
  FilePair single;
  bool listed = false;
  reader.forEachKey(
      node, path,
      {{"certificate"},
       {"key"},
       {"certificates"},
       {"min_version"},
       {"ciphers"},
       {"client_ca"},
       {"client_verify"},
       {"session_tickets"},
       {"handshake_timeout"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& p) {
        if (key == "certificate" || key == "key") {
          auto text = reader.scalar(value, p);
          if (!text) return;
          (key == "certificate" ? single.certificate : single.key) = resolvePath(base_dir, *text);
          (key == "certificate" ? single.certificate_mark : single.key_mark) = markOf(value);
        } else if (key == "certificates") {
          listed = true;
          if (!value.IsSequence() || value.size() == 0) {
            reader.error(value, p, "expected a list of { certificate, key }");
            return;
          }
          for (size_t i = 0; i < value.size(); ++i) {
            FilePair pair;
            parsePair(reader, value[i], p + "[" + std::to_string(i) + "]", base_dir, pair);
            addPair(out, pair);
          }
        } else if (key == "min_version") {
          auto text = reader.scalar(value, p);
          if (!text) return;
          if (*text == "1.2")
            out.settings.min_version = TLS1_2_VERSION;
          else if (*text == "1.3")
            out.settings.min_version = TLS1_3_VERSION;
          else
            reader.error(value, p, "expected \"1.2\" or \"1.3\", got '" + *text + "'");
        } else if (key == "ciphers") {
          if (auto text = reader.scalar(value, p)) out.settings.ciphers = *text;
          out.ciphers_mark = markOf(value);
        } else if (key == "client_ca") {
          if (auto text = reader.scalar(value, p))
            out.settings.client_ca = resolvePath(base_dir, *text);
          out.client_ca_mark = markOf(value);
        } else if (key == "client_verify") {
          auto text = reader.scalar(value, p);
          if (!text) return;
          if (*text == "off")
            out.settings.client_verify = tls::ClientVerify::Off;
          else if (*text == "optional")
            out.settings.client_verify = tls::ClientVerify::Optional;
          else if (*text == "required")
            out.settings.client_verify = tls::ClientVerify::Required;
          else
            reader.error(value, p, "expected off, optional or required, got '" + *text + "'");
        } else if (key == "session_tickets") {
          if (auto on = reader.boolean(value, p)) out.settings.session_tickets = *on;
        } else if (key == "handshake_timeout") {
          if (auto d = reader.duration(value, p, Duration(1))) out.handshake_timeout = *d;
        }
      });
  const bool has_single = node["certificate"] || node["key"];
  if (has_single && listed)
    reader.error(node, path, "write either certificate and key, or certificates, not both");
  else if (has_single) {
    if (!node["certificate"])
      reader.error(node, path + ".certificate", "a certificate file is needed with key");
    if (!node["key"]) reader.error(node, path + ".key", "a key file is needed with certificate");
    addPair(out, single);
  } else if (!listed) {
    reader.error(node, path, "a TLS listener needs certificate and key, or certificates");
  }
  if (out.settings.client_verify != tls::ClientVerify::Off && out.settings.client_ca.empty())
    reader.error(node, path + ".client_ca",
                 "client_verify needs client_ca, the CA that signs client certificates");
}

void parseUpstreamTls(YamlReader& reader, const YAML::Node& node, const std::string& path,
                      UpstreamTlsConfig& out) {
  const std::string& base_dir = reader.baseDir();
  out.mark = markOf(node);
  if (!reader.expectMap(node, path)) return;
  out.enabled = true;
  tls::ClientSettings& settings = out.settings;
  reader.forEachKey(
      node, path, {{"ca"}, {"verify"}, {"server_name"}, {"certificate"}, {"key"}},
      [&](const std::string& key, const YAML::Node& value, const std::string& p) {
        if (key == "verify") {
          out.verify_mark = markOf(value);
          if (auto on = reader.boolean(value, p)) settings.verify = *on;
          return;
        }
        auto text = reader.scalar(value, p);
        if (!text) return;
        if (key == "ca") {
          settings.ca = resolvePath(base_dir, *text);
          out.ca_mark = markOf(value);
        } else if (key == "certificate") {
          settings.client.certificate = resolvePath(base_dir, *text);
          out.certificate_mark = markOf(value);
        } else if (key == "key") {
          settings.client.key = resolvePath(base_dir, *text);
          out.key_mark = markOf(value);
        } else if (key == "server_name") {
          out.server_name_mark = markOf(value);
          const std::optional<HostName> host = parseHostName(*text);
          if (host)
            out.server_name = host->text;
          else
            reader.error(value, p, "expected a host name or an IP address, got '" + *text + "'");
        }
      });
  if (node["certificate"] && !node["key"])
    reader.error(node, path + ".key", "a key file is needed with certificate");
  if (node["key"] && !node["certificate"])
    reader.error(node, path + ".certificate", "a certificate file is needed with key");
}

std::string serverTlsName(const UpstreamTlsConfig& tls, const ServerConfig& server) {
  if (!tls.server_name.empty()) return tls.server_name;
  HostPort parts;
  std::string why;
  if (!splitHostPort(server.address_text, parts, why) || parts.host == "*") return "";
  const std::optional<HostName> host = parseHostName(parts.host);
  return host ? host->text : parts.host;
}

}  // namespace fulcrum::config
