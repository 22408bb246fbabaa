#include "http/head_writer.h"

#include <string>

namespace fulcrum::http {
namespace {

void addField(evbuffer* out, std::string_view name, std::string_view value) {
  evbuffer_add(out, name.data(), name.size());
  evbuffer_add(out, ": ", 2);
  evbuffer_add(out, value.data(), value.size());
  evbuffer_add(out, "\r\n", 2);
}

bool isFramingOrHost(std::string_view name) {
  return equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding") ||
         equalsIgnoreCase(name, "host");
}

// `keep_upgrade`: Upgrade survives (a WebSocket handshake in flight).
bool isHopByHop(std::string_view name, const Head& head, bool keep_upgrade) {
  if (equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive") ||
      equalsIgnoreCase(name, "proxy-connection") || equalsIgnoreCase(name, "te"))
    return true;
  if (equalsIgnoreCase(name, "upgrade")) return !keep_upgrade;
  if (isFramingOrHost(name)) return false;
  for (std::string_view token : head.connection_tokens)
    if (equalsIgnoreCase(token, name)) return !(keep_upgrade && equalsIgnoreCase(name, "upgrade"));
  return false;
}

}  // namespace

bool validRequestId(std::string_view value) {
  if (value.empty() || value.size() > 128) return false;
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string_view clientRequestId(const RequestHead& head) {
  std::string_view found;
  int count = 0;
  for (const Field& field : head.fields) {
    if (!equalsIgnoreCase(field.name, "x-request-id")) continue;
    found = field.value;
    ++count;
  }
  return count == 1 && validRequestId(found) ? found : std::string_view();
}

void writeRequestHead(evbuffer* out, const RequestHead& head, const ForwardedFor& forwarded) {
  evbuffer_add(out, head.method.data(), head.method.size());
  evbuffer_add(out, " ", 1);
  evbuffer_add(out, head.path.data(), head.path.size());
  evbuffer_add(out, head.minor_version == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n", 11);
  std::string forwarded_for;
  for (const Field& field : head.fields) {
    if (isHopByHop(field.name, head, head.upgrade)) continue;
    if (equalsIgnoreCase(field.name, "x-forwarded-for")) {
      forwarded_for.append(field.value).append(", ");
      continue;
    }
    if (equalsIgnoreCase(field.name, "x-forwarded-proto") ||
        equalsIgnoreCase(field.name, "x-request-id"))
      continue;
    addField(out, field.name, field.value);
  }
  forwarded_for.append(forwarded.client_ip);
  addField(out, "X-Forwarded-For", forwarded_for);
  addField(out, "X-Forwarded-Proto", forwarded.proto);
  addField(out, "Via", head.minor_version == 0 ? "1.0 fulcrum" : "1.1 fulcrum");
  addField(out, "X-Request-Id", forwarded.request_id);
  if (head.upgrade) addField(out, "Connection", "upgrade");
  evbuffer_add(out, "\r\n", 2);
}

void writeResponseHead(evbuffer* out, const ResponseHead& head, ClientConnection connection) {
  bool upgrade = connection == ClientConnection::Upgrade;
  char status_line[32];
  int length = snprintf(status_line, sizeof(status_line), "HTTP/1.1 %d ", head.status);
  evbuffer_add(out, status_line, static_cast<size_t>(length));
  evbuffer_add(out, head.reason.data(), head.reason.size());
  evbuffer_add(out, "\r\n", 2);
  for (const Field& field : head.fields)
    if (!isHopByHop(field.name, head, upgrade)) addField(out, field.name, field.value);
  if (upgrade) addField(out, "Connection", "upgrade");
  if (connection == ClientConnection::Close) addField(out, "Connection", "close");
  if (connection == ClientConnection::KeepAlive10) addField(out, "Connection", "keep-alive");
  evbuffer_add(out, "\r\n", 2);
}

}  // namespace fulcrum::http
