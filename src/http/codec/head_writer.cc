#include "http/codec/head_writer.h"

#include <charconv>
#include <cstring>
#include <string>

namespace fulcrum::http {
namespace {

// A head is composed here and added to the output in one evbuffer_add: one
// buffer per worker thread, reused, so composing allocates nothing.
std::string& scratch() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

// One size check and two copies per field; four appends, each checking
// and terminating the string, cost 1,200 instructions per request.
void addField(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* to = out.data() + at;
  std::memcpy(to, name.data(), name.size());
  to += name.size();
  *to++ = ':';
  *to++ = ' ';
  std::memcpy(to, value.data(), value.size());
  to += value.size();
  *to++ = '\r';
  *to = '\n';
}

// Fields a Connection header must never be able to strip: the framing,
// Host, and the idempotency header (`end_to_end`, may be empty), whose
// removal would make a request fulcrum retries as keyed reach the server
// without its key.
bool isEndToEnd(std::string_view name, std::string_view end_to_end) {
  return isFramingField(name) || equalsIgnoreCase(name, "host") ||
         (!end_to_end.empty() && equalsIgnoreCase(name, end_to_end));
}

// `keep_upgrade`: Upgrade survives (a WebSocket handshake in flight).
// Every field of every head passes here: the length picks the one or two
// names a field can be, and the field a Connection token names is looked
// up before the (rarer) check that it may not be stripped.
bool isHopByHop(std::string_view name, const Head& head, bool keep_upgrade,
                std::string_view end_to_end = {}) {
  switch (name.size()) {
    case 2:
      if (equalsIgnoreCase(name, "te")) return true;
      break;
    case 7:
      if (equalsIgnoreCase(name, "upgrade")) return !keep_upgrade;
      break;
    case 10:
      if (equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive")) return true;
      break;
    case 16:
      if (equalsIgnoreCase(name, "proxy-connection")) return true;
      break;
    default:
      break;
  }
  for (std::string_view token : head.connection_tokens)
    if (equalsIgnoreCase(token, name)) return !isEndToEnd(name, end_to_end);
  return false;
}

enum class Forwarding { None, For, Proto, RequestId, Other };

// The fields a proxy sets about the client, which a client must not be
// able to set about itself.
Forwarding forwardingField(std::string_view name) {
  if (equalsIgnoreCase(name, "x-forwarded-for")) return Forwarding::For;
  if (equalsIgnoreCase(name, "x-forwarded-proto")) return Forwarding::Proto;
  if (equalsIgnoreCase(name, "x-request-id")) return Forwarding::RequestId;
  constexpr std::string_view kPrefix = "x-forwarded-";
  if ((name.size() > kPrefix.size() && equalsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix)) ||
      equalsIgnoreCase(name, "x-real-ip") || equalsIgnoreCase(name, "forwarded"))
    return Forwarding::Other;
  return Forwarding::None;
}

// The framing fields of `head` become the one fulcrum writes for `body`, in
// place of the first of them (or at the end when there was none). Returns
// true when `field` was one of them.
bool rewriteFraming(std::string& out, const Head& head, const Field& field, BodyOut body,
                    bool& framed) {
  if (!isFramingField(field.name)) return false;
  if (body == BodyOut::None) {
    addField(out, field.name, field.value);  // a bodiless response's, as sent
  } else if (!framed) {
    appendFramingField(out, head, body);
    framed = true;
  }
  return true;
}

}  // namespace

bool isHopByHopField(std::string_view name, const Head& head) {
  return isHopByHop(name, head, /*keep_upgrade=*/false);
}

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

bool writeRequestHead(evbuffer* buffer, const RequestHead& head, const ForwardedFor& forwarded,
                      std::string_view idempotency_header) {
  std::string& out = scratch();
  out.append(head.method).append(" ").append(head.path);
  out.append(head.minor_version == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  const BodyOut body = requestBodyOut(head.framing);
  bool framed = false;
  bool keyed = false;
  // A trusted proxy's X-Forwarded-For values, in order, then ours: one field.
  thread_local std::string forwarded_for;
  forwarded_for.clear();
  bool proto_kept = false;
  for (const Field& field : head.fields) {
    if (isHopByHop(field.name, head, head.upgrade, idempotency_header)) continue;
    if (rewriteFraming(out, head, field, body, framed)) continue;
    if (forwarded.verifies_client_certs && equalsIgnoreCase(field.name, "x-forwarded-client-cert"))
      continue;
    switch (forwardingField(field.name)) {
      case Forwarding::None:
        break;
      case Forwarding::RequestId:
        continue;  // the session chose which one to send
      case Forwarding::For:
        if (forwarded.trusted) forwarded_for.append(field.value).append(", ");
        continue;
      case Forwarding::Proto:
        proto_kept = proto_kept || forwarded.trusted;
        [[fallthrough]];
      case Forwarding::Other:
        if (!forwarded.trusted) continue;
        break;
    }
    addField(out, field.name, field.value);
    if (!idempotency_header.empty() && !field.value.empty() &&
        equalsIgnoreCase(field.name, idempotency_header))
      keyed = true;
  }
  if (!framed) appendFramingField(out, head, body);
  forwarded_for.append(forwarded.client_ip);
  addField(out, "X-Forwarded-For", forwarded_for);
  if (!proto_kept) addField(out, "X-Forwarded-Proto", forwarded.proto);
  addField(out, "Via", head.minor_version == 0 ? "1.0 fulcrum" : "1.1 fulcrum");
  addField(out, "X-Request-Id", forwarded.request_id);
  if (!forwarded.client_cert.empty())
    addField(out, "X-Forwarded-Client-Cert", forwarded.client_cert);
  if (head.upgrade) addField(out, "Connection", "upgrade");
  out.append("\r\n");
  evbuffer_add(buffer, out.data(), out.size());
  return keyed;
}

void writeResponseHead(evbuffer* buffer, const ResponseHead& head, ClientConnection connection,
                       unsigned attempts, BodyOut body) {
  bool upgrade = connection == ClientConnection::Upgrade;
  std::string& out = scratch();
  char status[3] = {static_cast<char>('0' + head.status / 100),
                    static_cast<char>('0' + head.status / 10 % 10),
                    static_cast<char>('0' + head.status % 10)};
  out.append("HTTP/1.1 ").append(status, 3).append(" ").append(head.reason).append("\r\n");
  bool framed = false;
  for (const Field& field : head.fields) {
    if (isHopByHop(field.name, head, upgrade)) continue;
    if (rewriteFraming(out, head, field, body, framed)) continue;
    if (!(attempts > 0 && equalsIgnoreCase(field.name, "x-fulcrum-attempts")))
      addField(out, field.name, field.value);
  }
  if (!framed) appendFramingField(out, head, body);
  if (attempts > 0) {
    char count[12];
    const char* end = std::to_chars(count, count + sizeof(count), attempts).ptr;
    addField(out, "X-Fulcrum-Attempts", std::string_view(count, static_cast<size_t>(end - count)));
  }
  if (upgrade) addField(out, "Connection", "upgrade");
  if (connection == ClientConnection::Close) addField(out, "Connection", "close");
  if (connection == ClientConnection::KeepAlive10) addField(out, "Connection", "keep-alive");
  out.append("\r\n");
  evbuffer_add(buffer, out.data(), out.size());
}

}  // namespace fulcrum::http
