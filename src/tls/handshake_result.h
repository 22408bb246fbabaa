// How a server-side TLS handshake ended, as a short fixed set the metric
// fulcrum_tls_handshakes_total{result} counts by: a scanner or a
// misconfigured client is told apart by counts, not by a log line per
// connection. The set is small and closed so the number of series stays
// bounded whatever clients send; OpenSSL's own text stays in the debug log.
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace fulcrum::tls {

enum class HandshakeResult {
  Ok,
  Timeout,            // not done within handshake_timeout
  PeerClosed,         // the client closed or reset the connection mid-handshake
  NotTls,             // plain text, HTTP or another protocol on a TLS port
  ProtocolVersion,    // no TLS version in common (a client of TLS 1.1 or older)
  NoSharedCipher,     // no cipher suite, group or signature algorithm in common
  ClientCertificate,  // client_verify: a client certificate missing or not verified
  ServerCertificate,  // the client refused fulcrum's certificate (its alert said so)
  Other,
  Count,
};

inline constexpr size_t kHandshakeResults = static_cast<size_t>(HandshakeResult::Count);

// The label value: "ok", "timeout", "peer_closed", "not_tls",
// "protocol_version", "no_shared_cipher", "client_certificate",
// "server_certificate", "other".
std::string_view handshakeResultLabel(HandshakeResult result);

// Why a handshake failed, from what it failed with: `error` is the errno
// of the failed step (ETIMEDOUT for the handshake deadline, ECONNRESET for
// a peer gone), `openssl_error` the oldest packed OpenSSL error code of
// the step (TlsTransport::lastErrorCode(), 0 when there was none).
HandshakeResult classifyHandshakeFailure(int error, unsigned long openssl_error);

}  // namespace fulcrum::tls
