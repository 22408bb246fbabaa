// SIGHUP: the Process's configuration reload (process.h). The new file is
// loaded and checked like at start; nothing running changes unless all of
// it (the config, the Runtime, every new listening socket) is ready.
#include <thread>

#include "app/counter_carry.h"
#include "app/process.h"
#include "balance/registry.h"
#include "config/loader.h"
#include "config/validate.h"
#include "config/warnings.h"
#include "core/log.h"

namespace fulcrum::app {

void Process::failReload(const std::string& why) {
  ++reloads_.failed;
  reloads_.last_successful = false;
  log::error("configuration reload failed (%s): keeping the running configuration", why.c_str());
}

bool Process::planListeners(const Runtime& next, std::vector<std::vector<ListenerPlan>>& per_worker,
                            std::vector<std::string>& addresses,
                            std::vector<std::vector<net::ListenSocket>>& held) {
  per_worker.clear();
  per_worker.resize(worker_count_);
  held.clear();
  held.resize(next.listeners().size());
  // The same listener keeps its sockets: not one connection is refused
  // across the reload (counter_carry.h says which listener is "the same").
  const std::vector<int> previous_of = matchListeners(*runtime_, next);
  for (size_t i = 0; i < next.listeners().size(); ++i) {
    const ListenerRuntime& listener = next.listeners()[i];
    const int previous = previous_of[i];
    if (previous >= 0) {
      for (auto& plan : per_worker) plan.push_back(ListenerPlan{previous, {}});
      addresses.push_back(listener_addresses_[static_cast<size_t>(previous)]);
      for (auto& socket : held_sockets_[static_cast<size_t>(previous)])
        held[i].push_back(socket.duplicate());
      continue;
    }
    std::vector<net::ListenSocket> sockets;
    SocketAddress bound;
    std::string why;
    if (!net::bindListenSockets(listener.address, worker_count_, listener.backlog, sockets, bound,
                                why)) {
      log::error("reload: listener %s: cannot listen: %s", listener.name.c_str(), why.c_str());
      return false;  // the sockets bound so far close with `per_worker`
    }
    deferAccepts(listener, sockets);
    for (unsigned w = 0; w < worker_count_; ++w) {
      held[i].push_back(sockets[w].duplicate());
      per_worker[w].push_back(ListenerPlan{-1, std::move(sockets[w])});
    }
    addresses.push_back(bound.toString());
    log::info("listener %s (%s) listening on %s -> %s", listener.name.c_str(),
              listener.protocol == config::Protocol::Tcp ? "tcp" : "http", bound.toString().c_str(),
              listener.protocol == config::Protocol::Tcp
                  ? ("upstream " + listener.upstream->name).c_str()
                  : (std::to_string(listener.routes.size()) + " route(s)").c_str());
  }
  return true;
}

void Process::reload() {
  if (draining_) {
    log::warn("SIGHUP during drain: ignored");
    return;
  }
  log::info("SIGHUP: reloading %s", config_path_.c_str());
  config::LoadResult loaded = config::loadConfigFile(config_path_, balance::strategyNames());
  for (const auto& error : loaded.errors) log::error("reload: %s", error.toString().c_str());
  if (!loaded.config) {
    failReload(std::to_string(loaded.errors.size()) + " error(s) in " + config_path_);
    return;
  }
  for (const auto& warning : config::warnings(*loaded.config))
    log::warn("reload: %s", warning.toString().c_str());
  unsigned workers = loaded.config->global.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  if (workers != worker_count_)
    log::warn("reload: changing workers (%u -> %u) needs a restart; keeping %u", worker_count_,
              workers, worker_count_);
  const config::AdminConfig& next_admin = loaded.config->global.admin;
  const config::AdminConfig& running_admin = runtime_->config().global.admin;
  const std::string previous_token = running_admin.token;
  if (!(next_admin.listen == running_admin.listen) ||
      next_admin.max_connections != running_admin.max_connections)
    log::warn(
        "reload: global.admin.listen and max_connections changes need a restart; the admin "
        "listener keeps its address and limit (token, hosts and protect_status apply now)");
  // Servers from DNS keep the last answers of the entries that stay.
  discovery_->substitute(*loaded.config);
  std::string why;
  if (!switchTo(std::move(*loaded.config), why)) {
    failReload(why);
    return;
  }
  discovery_->configure(runtime_->config());
  if (auto level = log::parseLevel(runtime_->config().global.log.level)) log::setLevel(*level);
  // A token that leaked must stop working now, not at the next restart.
  const config::AdminConfig& admin = runtime_->config().global.admin;
  admin_server_->setPolicy(accessPolicy(admin));
  if (admin.token != previous_token)
    log::info("admin: %s", admin.token.empty() ? "/api is disabled: global.admin.token was removed"
                                               : "the new global.admin.token applies now");
  updateConnectionLimit(runtime_->config());
  if (runtime_->config().global.takeover_socket != takeover_path_) startTakeoverServer();
  ++reloads_.succeeded;
  reloads_.last_successful = true;
  log::info("configuration reloaded: %zu listener(s), %zu upstream(s)",
            runtime_->listeners().size(), runtime_->upstreams().size());
}

bool Process::switchTo(config::Config config, std::string& why) {
  std::shared_ptr<const Runtime> next = Runtime::build(std::move(config), why, runtime_.get());
  if (!next) return false;
  std::vector<std::vector<ListenerPlan>> plans;
  std::vector<std::string> addresses;
  std::vector<std::vector<net::ListenSocket>> held;
  if (!planListeners(*next, plans, addresses, held)) {
    why = "a new listener could not be bound";
    return false;
  }
  auto monitor = makeMonitor(*next);
  monitor->inheritFrom(*monitor_);
  // Workers start the generation with the carried-over health state, in
  // the same task: a checked server that was up never looks down.
  std::vector<upstream::HostSets> hosts(next->upstreams().size());
  for (size_t u = 0; u < hosts.size(); ++u) hosts[u] = monitor->upstream(u).buildHostSets();
  // From here on nothing can fail: switch. The old monitor reads the
  // old generation until it is replaced below.
  std::shared_ptr<const Runtime> previous = std::move(runtime_);
  runtime_ = next;
  listener_addresses_ = addresses;
  held_sockets_ = std::move(held);
  for (unsigned w = 0; w < workers_.size(); ++w)
    workers_[w]->applyGeneration(runtime_, std::move(plans[w]), hosts);
  monitor_ = std::move(monitor);  // the old one's probes and timers stop here
  monitor_->start();
  // Numbered publications, as after any change (the workers have these
  // sets already).
  monitor_->publishAll();
  admin_backend_->retarget(runtime_, monitor_.get(), listener_addresses_);
  return true;
}

bool Process::applyDiscovery() {
  if (draining_) return true;
  config::Config config = runtime_->config();
  discovery_->substitute(config);
  std::string why;
  if (!switchTo(std::move(config), why)) {
    log::error("dns: servers changed, but the new generation failed (%s): keeping the running one",
               why.c_str());
    return false;
  }
  log::info("dns: servers changed: generation %llu",
            static_cast<unsigned long long>(runtime_->generation()));
  return true;
}

}  // namespace fulcrum::app
