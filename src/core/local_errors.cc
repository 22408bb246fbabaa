#include "core/local_errors.h"

#include <array>
#include <atomic>
#include <cerrno>

namespace fulcrum {
namespace {

constexpr std::array<int, kLocalErrorKinds> kErrors = {EMFILE, ENFILE, ENOBUFS, ENOMEM,
                                                       EADDRNOTAVAIL};
constexpr std::array<const char*, kLocalErrorKinds> kErrorNames = {"EMFILE", "ENFILE", "ENOBUFS",
                                                                   "ENOMEM", "EADDRNOTAVAIL"};
constexpr size_t kSites = static_cast<size_t>(LocalSite::Count);

std::array<std::array<std::atomic<uint64_t>, kLocalErrorKinds>, kSites> g_counts{};

int kindOf(int error) {
  for (size_t i = 0; i < kErrors.size(); ++i)
    if (kErrors[i] == error) return static_cast<int>(i);
  return -1;
}

}  // namespace

bool isLocalResourceError(int error) {
  return kindOf(error) >= 0;
}

void countLocalError(LocalSite site, int error) {
  const int kind = kindOf(error);
  if (kind < 0 || site >= LocalSite::Count) return;
  g_counts[static_cast<size_t>(site)][static_cast<size_t>(kind)].fetch_add(
      1, std::memory_order_relaxed);
}

uint64_t localErrorCount(LocalSite site, size_t kind) {
  if (site >= LocalSite::Count || kind >= kLocalErrorKinds) return 0;
  return g_counts[static_cast<size_t>(site)][kind].load(std::memory_order_relaxed);
}

const char* localSiteName(LocalSite site) {
  switch (site) {
    case LocalSite::Connect:
      return "connect";
    case LocalSite::HealthCheck:
      return "health_check";
    case LocalSite::Accept:
      return "accept";
    case LocalSite::AdminAccept:
      return "admin_accept";
    case LocalSite::Count:
      break;
  }
  return "?";
}

const char* localErrorName(size_t kind) {
  return kind < kErrorNames.size() ? kErrorNames[kind] : "?";
}

}  // namespace fulcrum
