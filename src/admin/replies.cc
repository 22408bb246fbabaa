#include "admin/replies.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "admin/status_json.h"

namespace fulcrum::admin {

void reply(evhttp_request* request, int code, const char* reason, const char* content_type,
           std::string_view body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", content_type);
  evhttp_add_header(headers, "Cache-Control", "no-store");
  evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
  evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());
  evhttp_send_reply(request, code, reason, nullptr);
}

void replyError(evhttp_request* request, int code, const char* reason, std::string_view message) {
  reply(request, code, reason, kJsonType, jsonError(message));
}

void replyMethodNotAllowed(evhttp_request* request, const char* allow) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", allow);
  replyError(request, 405, "Method Not Allowed", std::string("method not allowed; use ") + allow);
}

std::string printable(std::string_view text) {
  constexpr size_t kMaxLogged = 200;
  std::string out;
  for (char c : text.substr(0, kMaxLogged))
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  if (text.size() > kMaxLogged) out += "...";
  return out;
}

std::string peerOf(evhttp_request* request) {
  evhttp_connection* connection = evhttp_request_get_connection(request);
  if (connection == nullptr) return "?";
  char* address = nullptr;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(connection, &address, &port);
  return std::string(address != nullptr ? address : "?") + ":" + std::to_string(port);
}

}  // namespace fulcrum::admin
