#include "admin/status_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/hex.h"

namespace fulcrum::admin {
namespace {

constexpr std::string_view kReplacement = "\\ufffd";

void appendEscapedByte(std::string& out, unsigned char c) {
  out += "\\u00";
  out.append(&kHexPairs[2 * c], 2);
}

bool continuation(unsigned char c) {
  return (c & 0xc0) == 0x80;
}

// Length of the well-formed UTF-8 sequence of 2..4 bytes starting at `i`
// (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF), or 0.
size_t sequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const size_t left = text.size() - i;
  const unsigned char lead = byte(0);
  if (lead >= 0xc2 && lead <= 0xdf) return left >= 2 && continuation(byte(1)) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    if (left < 3 || !continuation(byte(1)) || !continuation(byte(2))) return 0;
    if (lead == 0xe0 && byte(1) < 0xa0) return 0;  // overlong
    if (lead == 0xed && byte(1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (left < 4 || !continuation(byte(1)) || !continuation(byte(2)) || !continuation(byte(3)))
      return 0;
    if (lead == 0xf0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xf4 && byte(1) > 0x8f) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void appendField(std::string& out, std::string_view key) {
  out += '"';
  out += key;  // keys are our literals: nothing to escape
  out += "\":";
}

void appendStringField(std::string& out, std::string_view key, std::string_view value) {
  appendField(out, key);
  appendJsonString(out, value);
}

void appendUnsignedField(std::string& out, std::string_view key, uint64_t value) {
  appendField(out, key);
  out += std::to_string(value);
}

void appendBoolField(std::string& out, std::string_view key, bool value) {
  appendField(out, key);
  out += value ? "true" : "false";
}

// "key":[item,item,...]
template <typename Item>
void appendArrayField(std::string& out, std::string_view key, const std::vector<Item>& items,
                      void (*appendItem)(std::string&, const Item&)) {
  appendField(out, key);
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    appendItem(out, items[i]);
  }
  out += ']';
}

void appendServer(std::string& out, const ServerStatus& server) {
  out += '{';
  appendStringField(out, "name", server.name);
  out += ',';
  appendStringField(out, "address", server.address);
  out += ',';
  appendStringField(out, "dns", server.dns);
  out += ',';
  appendUnsignedField(out, "weight", server.weight);
  out += ',';
  appendBoolField(out, "backup", server.backup);
  out += ',';
  appendStringField(out, "state", server.state);
  out += ',';
  appendBoolField(out, "usable", server.usable);
  out += ',';
  appendStringField(out, "check", server.check);
  out += ',';
  appendBoolField(out, "admin_drain", server.admin_drain);
  out += ',';
  appendBoolField(out, "ejected", server.ejected);
  out += ',';
  appendUnsignedField(out, "ramp_percent", server.ramp_percent);
  out += ',';
  appendUnsignedField(out, "active_requests", server.active_requests);
  out += ',';
  appendStringField(out, "last_transition", server.last_transition);
  out += ',';
  appendField(out, "last_transition_seconds_ago");
  if (server.last_transition_seconds_ago < 0)
    out += "null";
  else
    appendJsonNumber(out, server.last_transition_seconds_ago);
  out += '}';
}

void appendName(std::string& out, const std::string& name) {
  appendJsonString(out, name);
}

void appendCertificate(std::string& out, const CertificateStatus& certificate) {
  out += '{';
  appendStringField(out, "file", certificate.file);
  out += ',';
  appendStringField(out, "subject", certificate.subject);
  out += ',';
  appendArrayField(out, "names", certificate.names, appendName);
  out += ',';
  appendStringField(out, "not_after", certificate.not_after);
  out += ',';
  appendField(out, "days_left");
  out += std::to_string(certificate.days_left);
  out += ',';
  appendBoolField(out, "expires_soon", certificate.expires_soon);
  out += '}';
}

void appendUpstream(std::string& out, const UpstreamStatus& upstream) {
  out += '{';
  appendStringField(out, "name", upstream.name);
  out += ',';
  appendStringField(out, "balance", upstream.balance);
  out += ',';
  appendUnsignedField(out, "usable_servers", upstream.usable_servers);
  out += ',';
  appendBoolField(out, "panic", upstream.panic);
  out += ',';
  appendUnsignedField(out, "servers_total", upstream.servers.size());
  out += ',';
  appendArrayField(out, "dns", upstream.dns, appendName);
  out += ',';
  appendArrayField(out, "servers", upstream.servers, appendServer);
  out += ',';
  appendArrayField(out, "certificates", upstream.certificates, appendCertificate);
  out += '}';
}

void appendWorker(std::string& out, const WorkerStatus& worker) {
  out += '{';
  appendUnsignedField(out, "generation", worker.generation);
  out += ',';
  appendUnsignedField(out, "host_set_updates", worker.host_set_updates);
  out += '}';
}

void appendListener(std::string& out, const ListenerStatus& listener) {
  out += '{';
  appendStringField(out, "name", listener.name);
  out += ',';
  appendStringField(out, "protocol", listener.protocol);
  out += ',';
  appendStringField(out, "address", listener.address);
  out += ',';
  appendUnsignedField(out, "active_connections", listener.active_connections);
  out += ',';
  appendArrayField(out, "certificates", listener.certificates, appendCertificate);
  out += '}';
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '<':
        case '>':
        case '&':
        case 0x7f:
          appendEscapedByte(out, c);
          break;
        default:
          if (c < 0x20)
            appendEscapedByte(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const size_t length = sequenceLength(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    const std::string_view sequence = text.substr(i, length);
    // U+2028 and U+2029 end a line in JavaScript source.
    if (sequence == "\xe2\x80\xa8")
      out += "\\u2028";
    else if (sequence == "\xe2\x80\xa9")
      out += "\\u2029";
    else
      out += sequence;
    i += length;
  }
  out += '"';
}

void appendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[64];
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, 3);
  if (error != std::errc()) {  // beyond 1e60: not a duration or a count we show
    out += "null";
    return;
  }
  std::string_view text(buffer, static_cast<size_t>(end - buffer));
  while (text.back() == '0') text.remove_suffix(1);
  if (text.back() == '.') text.remove_suffix(1);
  if (text == "-0") text = "0";
  out += text;
}

std::string jsonError(std::string_view message) {
  std::string out = "{\"error\":";
  appendJsonString(out, message);
  out += '}';
  return out;
}

std::string statusJson(const Status& status) {
  std::string out = "{";
  appendStringField(out, "version", status.version);
  out += ',';
  appendField(out, "uptime_seconds");
  appendJsonNumber(out, status.uptime_seconds);
  out += ',';
  appendBoolField(out, "draining", status.draining);
  out += ',';
  appendUnsignedField(out, "generation", status.generation);
  out += ',';
  appendArrayField(out, "workers", status.workers, appendWorker);
  out += ',';
  appendArrayField(out, "listeners", status.listeners, appendListener);
  out += ',';
  appendArrayField(out, "upstreams", status.upstreams, appendUpstream);
  out += '}';
  return out;
}

}  // namespace fulcrum::admin
