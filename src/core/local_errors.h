// Failures of fulcrum's own resources: out of file descriptors (EMFILE,
// ENFILE), of socket buffers (ENOBUFS), of memory (ENOMEM), of local ports
// (EADDRNOTAVAIL). They say nothing about the peer, so they never count
// against a server's health, outlier state or connect_failures; they are
// counted here instead, by where they happened, and exported as
// fulcrum_local_resource_errors_total{where, error}.
//
// The counts are process-wide like the logger: these errors are about the
// process itself and are met in layers that have no metrics of their own
// (a health probe, the admin listener). Thread-safe; counting is a relaxed
// atomic add, and only happens on error paths.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fulcrum {

enum class LocalSite : uint8_t {
  Connect,      // a connect to a server for a request or a TCP connection
  HealthCheck,  // a health probe's connect
  Accept,       // accept() on a client listener
  AdminAccept,  // accept() on the admin listener
  Count,
};

// The errno values that are ours, in the order of localErrorName().
inline constexpr size_t kLocalErrorKinds = 5;

// True for the errno values listed above.
bool isLocalResourceError(int error);
// Counts `error` (ignored unless isLocalResourceError) at `site`.
void countLocalError(LocalSite site, int error);
// The count for `site` and kind index `kind` (< kLocalErrorKinds).
uint64_t localErrorCount(LocalSite site, size_t kind);
// "connect", "health_check", "accept", "admin_accept".
const char* localSiteName(LocalSite site);
// "EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL".
const char* localErrorName(size_t kind);

}  // namespace fulcrum
