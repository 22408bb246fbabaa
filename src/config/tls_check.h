// Reads every TLS file a config names, listeners' and upstreams' alike, as
// a start or a reload will, so `fulcrum -t` finds what would fail there:
// unreadable files, a key that does not match its certificate, a chain or
// CA file that does not parse, an unknown cipher list, an expired
// certificate (errors, at the file's key), and a certificate that expires
// within kExpirySoon (a warning). An upstream with `verify: false` is a
// warning too.
#pragma once

#include <chrono>
#include <ctime>
#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"

namespace fulcrum::config {

constexpr std::chrono::hours kExpirySoon{14 * 24};

// `now`: Unix seconds (a parameter, for tests).
void checkTlsFiles(const Config& config, Diagnostics& diag, std::time_t now);
void warnAboutTls(const Config& config, std::vector<Diagnostic>& found, std::time_t now);

}  // namespace fulcrum::config
