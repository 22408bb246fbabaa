// What an operator needs to know of a certificate, read from its X509:
// whom it names, for which host names, and when it expires. The status
// page, the expiry metric and fulcrum -t's expiry warning read this.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::tls {

struct CertificateInfo {
  std::string file;
  std::string subject;             // the subject's CN, or the whole subject line
  std::vector<std::string> names;  // DNS names of the SAN, lower case (the CN when it has none)
  int64_t not_after = 0;           // Unix seconds
};

CertificateInfo describeCertificate(X509* certificate, const std::string& file);

// Whether `pattern` (a name from a certificate: "api.example.com" or
// "*.example.com") covers `host`, without regard to case; a wildcard stands
// for exactly one label ("*.example.com" covers "a.example.com", not
// "example.com" nor "a.b.example.com").
bool nameMatches(const std::string& pattern, const std::string& host);

}  // namespace fulcrum::tls
