#include "tls/handshake_result.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>

namespace fulcrum::tls {
namespace {

constexpr std::string_view kLabels[kHandshakeResults] = {
    "ok",
    "timeout",
    "peer_closed",
    "not_tls",
    "protocol_version",
    "no_shared_cipher",
    "client_certificate",
    "server_certificate",
    "other",
};

// An alert the client sent (OpenSSL reports it as SSL_AD_REASON_OFFSET +
// the alert's number). On the server side, the certificate alerts can only
// be about fulcrum's certificate: an unknown CA (a missing intermediate, a
// private CA the client does not trust), a name it does not cover, expiry.
HandshakeResult fromAlert(int alert) {
  switch (alert) {
    case SSL_AD_CLOSE_NOTIFY:
    case SSL_AD_USER_CANCELLED:
      return HandshakeResult::PeerClosed;
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
      return HandshakeResult::ServerCertificate;
    case SSL_AD_PROTOCOL_VERSION:
    case SSL_AD_INAPPROPRIATE_FALLBACK:
      return HandshakeResult::ProtocolVersion;
    default:
      return HandshakeResult::Other;
  }
}

// OpenSSL's own reason, as the server side of a handshake meets it.
HandshakeResult fromReason(int reason) {
  if (reason >= SSL_AD_REASON_OFFSET) return fromAlert(reason - SSL_AD_REASON_OFFSET);
  switch (reason) {
    // The first bytes are not a TLS record: "GET / HTTP/1.1", a CONNECT
    // meant for a proxy, an SSH banner, a port scanner's probe.
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
      return HandshakeResult::NotTls;
    // A ClientHello whose highest version is below min_version.
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_INAPPROPRIATE_FALLBACK:
      return HandshakeResult::ProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
      return HandshakeResult::NoSharedCipher;
    // client_verify: required, and no certificate came; or one came that
    // client_ca does not verify (optional and required alike).
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return HandshakeResult::ClientCertificate;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return HandshakeResult::PeerClosed;
    default:
      return HandshakeResult::Other;
  }
}

}  // namespace

std::string_view handshakeResultLabel(HandshakeResult result) {
  const auto index = static_cast<size_t>(result);
  return index < kHandshakeResults ? kLabels[index] : kLabels[kHandshakeResults - 1];
}

HandshakeResult classifyHandshakeFailure(int error, unsigned long openssl_error) {
  // The deadline is ours, whatever OpenSSL was waiting for then.
  if (error == ETIMEDOUT) return HandshakeResult::Timeout;
  if (openssl_error != 0 && ERR_GET_LIB(openssl_error) == ERR_LIB_SSL)
    return fromReason(ERR_GET_REASON(openssl_error));
  // No TLS reason: the socket itself ended (OpenSSL 3 may queue the errno
  // as an ERR_LIB_SYS entry; errno says the same).
  if (error == ECONNRESET || error == EPIPE || error == ECONNABORTED)
    return HandshakeResult::PeerClosed;
  return HandshakeResult::Other;
}

}  // namespace fulcrum::tls
