#include "support/curl.h"

#include "support/process.h"

namespace fulcrum::test {

CurlResult curlGet(uint16_t port, const std::string& name, const std::string& ca,
                   const std::string& path, const std::vector<std::string>& extra) {
  const std::string authority = name + ":" + std::to_string(port);
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "10"};
  if (!ca.empty()) argv.insert(argv.end(), {"--cacert", ca});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(),
              {"--resolve", authority + ":127.0.0.1", "-w",
               "\\n%{http_code} %{ssl_verify_result}\\n", "https://" + authority + path});
  const CommandResult run = runCommand(argv);
  return CurlResult{run.status, run.output};
}

}  // namespace fulcrum::test
