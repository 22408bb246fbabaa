// curl as a TLS client of the real proxy: an HTTPS GET to a name resolved
// to 127.0.0.1 (--resolve, so SNI and verification see the name), trusting
// a test CA. Bounded by curl's own --max-time and the process deadline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::test {

struct CurlResult {
  int exit = -1;       // curl's exit status (0, 35 handshake failed, 60 not verified, ...)
  std::string output;  // stdout and stderr, then "\n<http code> <ssl verify result>\n"
};

// curl to https://NAME:PORT/PATH resolved to 127.0.0.1, trusting `ca`
// (empty: the system's CAs, which trust no test certificate); `extra`
// options go before the URL ("--tls-max", "1.1").
CurlResult curlGet(uint16_t port, const std::string& name, const std::string& ca,
                   const std::string& path, const std::vector<std::string>& extra = {});

}  // namespace fulcrum::test
