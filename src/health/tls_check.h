// The tls check: connect (tcp_check.h), then a TLS handshake as a client.
//
// Pass: the handshake completed (TLS 1.2 or newer) within the timeout; the
// probe then sends close_notify (best effort) and closes. The server's
// certificate is NOT verified (tls/probe_context.h): the check proves the
// server speaks TLS, not that it is trusted. SNI is sent when
// spec.server_name is set.
// Failures: "TLS handshake failed: <OpenSSL's reason>" (for instance
// "wrong version number" from a server that does not speak TLS),
// "TLS handshake failed: connection closed by the server",
// "timed out after 1s during the TLS handshake", the connect failures of
// tcp_check.h, and "TLS setup failed: ..." when OpenSSL cannot make the
// checker's context or a connection (every probe then fails).
//
// One SSL_CTX per checker; each probe owns its SSL, socket and events
// (non-blocking SSL on the socket, driven by libevent read/write events).
// Destroying the probe frees all of them.
#pragma once

#include <memory>

#include "health/checker.h"
#include "net/event_loop.h"

namespace fulcrum::health {

// Every probe of this checker fails if OpenSSL cannot make its context.
std::unique_ptr<Checker> makeTlsChecker(net::EventLoop& loop, const CheckSpec& spec);

}  // namespace fulcrum::health
