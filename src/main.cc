// fulcrum command line: parse flags, load and check the config, run.
// Exit codes are listed in app/process.h and man/fulcrum.8.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "app/process.h"
#include "app/runtime.h"
#include "balance/registry.h"
#include "config/loader.h"
#include "config/validate.h"
#include "config/warnings.h"
#include "core/log.h"
#include "net/event_loop.h"

#ifndef FULCRUM_VERSION
#define FULCRUM_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kDefaultConfig = "/etc/fulcrum/fulcrum.yaml";

void usage(FILE* out) {
  std::fprintf(out,
               "usage: fulcrum [-c FILE] [-t [--strict]] [--takeover SOCKET] [-v|--version] "
               "[-h|--help]\n"
               "  -c FILE    configuration file (default %s)\n"
               "  -t         check the configuration and exit\n"
               "  --strict   warnings are errors (exit 1), for CI pipelines\n"
               "  --takeover SOCKET  take the listening sockets over from the fulcrum\n"
               "             serving SOCKET (its global.takeover_socket); it then drains\n"
               "  -v, --version  print the version and exit\n"
               "  -h, --help     print this help and exit\n",
               kDefaultConfig);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fulcrum;
  std::string config_path = kDefaultConfig;
  bool check_only = false;
  bool strict = false;
  std::string takeover_from;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-c" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "-t") {
      check_only = true;
    } else if (arg == "--strict") {
      strict = true;
    } else if (arg == "--takeover" && i + 1 < argc) {
      takeover_from = argv[++i];
    } else if (arg == "-v" || arg == "--version") {
      std::printf("fulcrum %s\n", FULCRUM_VERSION);
      return app::kExitOk;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return app::kExitOk;
    } else {
      std::fprintf(stderr, "fulcrum: %s\n",
                   arg == "-c"           ? "-c needs a file name"
                   : arg == "--takeover" ? "--takeover needs a socket path"
                                         : ("unknown option " + arg).c_str());
      usage(stderr);
      return app::kExitUsage;
    }
  }

  config::LoadResult loaded = config::loadConfigFile(config_path, balance::strategyNames());
  for (const auto& error : loaded.errors) std::fprintf(stderr, "%s\n", error.toString().c_str());
  if (!loaded.config) {
    std::fprintf(stderr, "fulcrum: %zu error(s) in %s\n", loaded.errors.size(),
                 config_path.c_str());
    return app::kExitConfig;
  }
  const auto warnings = config::warnings(*loaded.config);
  for (const auto& warning : warnings) std::fprintf(stderr, "%s\n", warning.toString().c_str());
  if (strict && !warnings.empty()) {
    // For CI pipelines: a warning fails the check like an error.
    std::fprintf(stderr, "fulcrum: %zu warning(s) in %s (--strict)\n", warnings.size(),
                 config_path.c_str());
    return app::kExitConfig;
  }
  if (check_only) {
    std::printf("configuration OK\n");
    return app::kExitOk;
  }

  // A peer closing while we write must be a socket error, not a dead process.
  signal(SIGPIPE, SIG_IGN);
  // glibc gives a worker arena's free top back to the kernel as soon as it
  // passes 128 KiB, so with a new connection per request each connection's
  // buffers regrow the arena and fault its pages in again (some 11 % of the
  // CPU in a profile of that load). Keeping 4 MiB free per arena costs
  // little and stops it.
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  log::setLevel(*log::parseLevel(loaded.config->global.log.level));
  net::EventLoop::enableThreads();

  std::string why;
  auto runtime = app::Runtime::build(std::move(*loaded.config), why);
  if (!runtime) {
    log::error("cannot start: %s", why.c_str());
    return app::kExitStartup;
  }
  log::info("fulcrum %s: configuration %s loaded", FULCRUM_VERSION, config_path.c_str());
  // The configuration is checked above: a bad file never disturbs the
  // process we would take over from.
  app::Process server(runtime, config_path, takeover_from);
  return server.run();
}
