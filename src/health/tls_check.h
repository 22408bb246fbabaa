// The tls check: connect (tcp_check.h), then a TLS handshake as a client.
//
// Pass: the handshake completed (TLS 1.2 or newer) within the timeout; the
// probe then sends close_notify (best effort) and closes. Each probe makes
// a full handshake (no session is resumed). Which certificate passes:
//  - an upstream without tls: any (tls/probe_context.h). The check proves
//    the server speaks TLS, not that it is trusted. SNI is sent when
//    spec.server_name is set.
//  - an upstream with tls (spec.tls): only one its traffic would take,
//    verified against its ca and for spec.server_name (the check's own
//    server_name, else the server's TLS name), with its client
//    certificate; a server whose certificate fails verification is down.
// Failures: "TLS handshake failed: <OpenSSL's reason>" (for instance
// "wrong version number" from a server that does not speak TLS, or
// "certificate verify failed (hostname mismatch)"), "TLS handshake failed:
// the server closed the connection", "timed out after 1s during the TLS
// handshake", the connect failures of tcp_check.h, and "TLS setup failed:
// ..." when OpenSSL cannot make the checker's context (every probe then
// fails).
//
// The connector (net/connector.h) runs the handshake over a TLS transport;
// each probe owns its connection, and destroying the probe closes it.
#pragma once

#include <memory>

#include "health/checker.h"
#include "net/event_loop.h"

namespace fulcrum::health {

// Every probe of this checker fails if OpenSSL cannot make its context.
std::unique_ptr<Checker> makeTlsChecker(net::EventLoop& loop, const CheckSpec& spec);

}  // namespace fulcrum::health
