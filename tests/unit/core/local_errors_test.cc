#include <doctest/doctest.h>

#include <cerrno>
#include <string>

#include "core/local_errors.h"

using namespace fulcrum;

TEST_CASE("running out of our own descriptors, buffers, memory or ports is a local error") {
  for (int error : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL})
    CHECK(isLocalResourceError(error));
  // What a server does to us is not.
  for (int error : {0, ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, EPIPE})
    CHECK_FALSE(isLocalResourceError(error));
}

TEST_CASE("local errors are counted by where and by errno, and nothing else is") {
  const uint64_t emfile_before = localErrorCount(LocalSite::HealthCheck, 0);
  const uint64_t ports_before = localErrorCount(LocalSite::HealthCheck, 4);
  const uint64_t connect_before = localErrorCount(LocalSite::Connect, 0);
  countLocalError(LocalSite::HealthCheck, EMFILE);
  countLocalError(LocalSite::HealthCheck, EMFILE);
  countLocalError(LocalSite::HealthCheck, EADDRNOTAVAIL);
  countLocalError(LocalSite::HealthCheck, ECONNREFUSED);  // not ours: ignored
  CHECK(localErrorCount(LocalSite::HealthCheck, 0) == emfile_before + 2);
  CHECK(localErrorCount(LocalSite::HealthCheck, 4) == ports_before + 1);
  CHECK(localErrorCount(LocalSite::Connect, 0) == connect_before);
  CHECK(std::string(localErrorName(0)) == "EMFILE");
  CHECK(std::string(localErrorName(4)) == "EADDRNOTAVAIL");
  CHECK(std::string(localSiteName(LocalSite::HealthCheck)) == "health_check");
  CHECK(std::string(localSiteName(LocalSite::AdminAccept)) == "admin_accept");
}
