#include "config/warnings.h"

#include <algorithm>
#include <ctime>
#include <string>

#include "config/tls_check.h"
#include "core/time_text.h"

namespace fulcrum::config {
namespace {

bool written(const Mark& mark) {
  return mark.line > 0;
}

void warnAboutUpstream(const Config& config, const UpstreamConfig& upstream,
                       std::vector<Diagnostic>& found) {
  const std::string path = "upstreams." + upstream.name;
  auto warn = [&](const Mark& mark, const std::string& key, const std::string& message) {
    found.push_back(Diagnostic{config.file, mark, path + key, "warning: " + message});
  };
  // SRV records name their own primaries; a dns: entry is one more server.
  const bool any_primary =
      std::any_of(upstream.servers.begin(), upstream.servers.end(),
                  [](const ServerConfig& server) { return !server.backup; }) ||
      std::any_of(upstream.discovery.begin(), upstream.discovery.end(),
                  [](const DiscoveryConfig& entry) {
                    return entry.kind == DiscoveryConfig::Kind::Srv || !entry.backup;
                  });
  if (!any_primary && !upstream.servers.empty())
    warn(upstream.mark, ".servers",
         "every server is a backup: with no primary to fail first, the backups take every "
         "request from the start; a backup is meant to stand in for primaries that are down");
  const RetryConfig& retries = upstream.retries;
  if (written(retries.per_try_timeout_mark) && retries.attempts > 1) {
    const Duration total = retries.per_try_timeout * retries.attempts;
    if (total > upstream.response_timeout)
      warn(retries.per_try_timeout_mark, ".retries.per_try_timeout",
           std::to_string(retries.attempts) + " attempts of " +
               formatDuration(retries.per_try_timeout) + " can take " + formatDuration(total) +
               ", longer than timeouts.response (" + formatDuration(upstream.response_timeout) +
               "): make sure clients wait longer than that, or a client gives up and may send "
               "again a payment fulcrum is still trying");
  }
  if (written(retries.reuse_safe_window_mark) && retries.reuse_safe_window > kShortServerKeepAlive)
    warn(retries.reuse_safe_window_mark, ".retries.reuse_safe_window",
         "longer than " + formatDuration(kShortServerKeepAlive) +
             ": servers that close idle connections after 5s (Node.js, Apache) may close one "
             "as a POST without a key goes out on it, and that payment's outcome is then "
             "unknown");
  if (written(upstream.keepalive_idle_timeout_mark) &&
      upstream.keepalive_idle_timeout > kCommonServerKeepAlive)
    warn(upstream.keepalive_idle_timeout_mark, ".keepalive.idle_timeout",
         "longer than " + formatDuration(kCommonServerKeepAlive) +
             " (nginx's keepalive_timeout): servers close such idle connections first, often "
             "as a request goes out on one, and each such request must be sent again");
  if (written(retries.budget_percent_mark) && retries.budget_percent == 0 && retries.attempts > 1)
    warn(retries.budget_percent_mark, ".retries.budget_percent",
         "0 allows no retries beyond budget_min_per_second (" +
             std::to_string(retries.budget_min_per_second) +
             " per second per worker): under load, failed requests reach clients although "
             "attempts: " +
             std::to_string(retries.attempts) + " says they would be retried");
}

}  // namespace

std::vector<Diagnostic> warnings(const Config& config) {
  std::vector<Diagnostic> found;
  const AdminConfig& admin = config.global.admin;
  // Without a token the API is off and the rest only reads: the risk left
  // is a token that crosses the network in clear text, the listener having
  // no TLS.
  if (!admin.listen.isLoopback() && !admin.token.empty())
    found.push_back(Diagnostic{config.file, admin.token_mark, "global.admin.token",
                               "warning: the admin listener " + admin.listen.toString() +
                                   " speaks plain HTTP to other hosts: the token crosses the "
                                   "network readable by anyone on the path; keep the listener "
                                   "on loopback or a management network, or reach it through "
                                   "an SSH tunnel"});
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& listener = config.listeners[i];
    for (const Cidr& range : listener.trusted_proxies.ranges()) {
      if (range.prefix() != 0) continue;
      found.push_back(
          Diagnostic{config.file, listener.trusted_proxies_mark,
                     "listeners[" + std::to_string(i) + "].trusted_proxies",
                     "warning: " + range.toString() +
                         " trusts every client of its family: any of them may say who it is "
                         "(X-Forwarded-For, a PROXY header) and be believed"});
      break;
    }
  }
  for (const UpstreamConfig& upstream : config.upstreams)
    warnAboutUpstream(config, upstream, found);
  warnAboutTls(config, found, std::time(nullptr));
  return found;
}

}  // namespace fulcrum::config
