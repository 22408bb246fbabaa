// The test runner. A client in a test whose peer has closed (a proxy that
// timed it out, a server that refused it) must see a failed write, as
// fulcrum itself does, not die of SIGPIPE: OpenSSL's socket writes and
// plain write() calls would otherwise end the whole run.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
