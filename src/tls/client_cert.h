// What a server behind fulcrum learns of a verified client certificate:
// the X-Forwarded-Client-Cert value, in Envoy's format, so servers written
// for Envoy read it unchanged:
//   Hash=<hex SHA-256 of the certificate's DER>;Subject="<RFC 2253 subject>"
// (quotes and backslashes in the subject are escaped with a backslash).
#pragma once

#include <string>

#include "net/transport.h"

namespace fulcrum::tls {

// The value for the certificate the client presented on `transport` and
// that verified; empty for a plain connection or a client without one.
std::string forwardedClientCert(const net::Transport& transport);

}  // namespace fulcrum::tls
