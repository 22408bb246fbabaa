// Rewriting heads as they cross the proxy (RFC 9110 section 7.6):
//  - hop-by-hop fields are removed: Connection, Keep-Alive,
//    Proxy-Connection, TE, Upgrade (kept while upgrading) and every field
//    the Connection header names (except the framing fields, Host and the
//    idempotency header, which a Connection header must never be able to
//    strip);
//  - the framing fields become the one field fulcrum writes for the way it
//    sends the body (framing.h);
//  - forwarding fields are believed only from a trusted proxy. From one,
//    X-Forwarded-For is appended to (one field), and X-Forwarded-Proto,
//    X-Forwarded-*, X-Real-IP and Forwarded pass as sent. From anyone else
//    all of those are dropped: the client's claims about itself never
//    reach a server. Then X-Forwarded-For (the client's address),
//    X-Forwarded-Proto (unless a trusted proxy's was kept), Via and
//    X-Request-Id (the id the session chose) are added.
#pragma once

#include <event2/buffer.h>

#include <string_view>

#include "http/codec/framing.h"
#include "http/codec/parser.h"

namespace fulcrum::http {

struct ForwardedFor {
  std::string_view client_ip;   // the client's address, without port
  std::string_view proto;       // "http" or "https"
  std::string_view request_id;  // the id to send
  bool trusted = false;         // the client is a trusted proxy: keep its forwarding fields
  // The listener verifies client certificates: any X-Forwarded-Client-Cert
  // is removed, even a trusted proxy's, and `client_cert` (when not empty)
  // is sent instead.
  bool verifies_client_certs = false;
  std::string_view client_cert;
};

// A field a proxy does not pass on (see above), of a message whose head
// is `head` (its Connection tokens), not upgrading.
bool isHopByHopField(std::string_view name, const Head& head);

// True when `value` is acceptable as a client-supplied X-Request-Id.
bool validRequestId(std::string_view value);
// The client's X-Request-Id when there is exactly one valid one, else empty.
std::string_view clientRequestId(const RequestHead& head);

// Appends "METHOD path HTTP/1.x" (the client's version: an HTTP/1.0 client's
// request stays 1.0 so the server answers in a form it can read) and the
// rewritten fields and CRLF. `idempotency_header` (may be empty) is never
// hop-by-hop. Returns true when the head written carries that field with a
// value: what the server gets is what makes a request keyed.
bool writeRequestHead(evbuffer* out, const RequestHead& head, const ForwardedFor& forwarded,
                      std::string_view idempotency_header = {});

// What the proxy says about the client connection in a response.
enum class ClientConnection {
  KeepAlive11,  // HTTP/1.1 client staying open: nothing to say
  KeepAlive10,  // HTTP/1.0 client staying open: "Connection: keep-alive"
  Close,        // "Connection: close"
  Upgrade,      // a 101: keep Upgrade, "Connection: upgrade"
};

// Appends "HTTP/1.1 status reason" and the rewritten fields and CRLF.
// `attempts` > 0 adds "X-Fulcrum-Attempts" (and drops one the server sent).
// `body`: how the body follows (responseBodyOut()); BodyOut::None passes
// the framing fields as they are (1xx, bodiless and local answers).
void writeResponseHead(evbuffer* out, const ResponseHead& head, ClientConnection connection,
                       unsigned attempts = 0, BodyOut body = BodyOut::None);

}  // namespace fulcrum::http
