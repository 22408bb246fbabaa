// The control side of a running proxy, on the main thread: binds the
// listening sockets, starts the workers and the health monitor, and turns
// signals into actions.
//  - SIGTERM / SIGINT: drain: /healthz answers 503; after global.drain_grace
//    (still accepting, HTTP answers close their connections) stop accepting,
//    let connections finish for up to global.drain_timeout, then exit 0. A
//    second one stops at once.
//  - SIGHUP: reload: read and check the file again; on any error log it and
//    keep serving on the running generation, untouched; else hand the new
//    generation to every worker (listening sockets of unchanged addresses
//    stay open, health state of unchanged servers carries over).
//  - SIGUSR1: reopen the access log file (after logrotate moved it); lines
//    go whole to the old file or to the new one. A successful reload opens
//    the file again too (the new generation's log).
//  - SIGPIPE: ignored; a peer that went away is an error on that socket.
// Takeover (app/takeover.h): started with `takeover_from`, the process
// takes the listening sockets of the one serving that Unix socket instead
// of binding them, and tells it to drain once its workers hold them. With
// global.takeover_socket set it serves its own sockets the same way.
// Servers from DNS (dns:, srv:) are looked up on this loop; when an answer
// changes an upstream's servers, the running config with the new servers
// becomes a new generation, switched to as a reload would (the file is not
// read again, and the reload counters do not move).
#pragma once

#include <memory>
#include <vector>

#include "admin/admin_server.h"
#include "app/metrics_page.h"
#include "app/proxy_admin.h"
#include "app/runtime.h"
#include "app/takeover.h"
#include "app/worker.h"
#include "discovery/discovery.h"
#include "health/monitor.h"
#include "net/connection_limit.h"
#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::app {

// Process exit codes (man/fulcrum.8).
enum ExitCode : int {
  kExitOk = 0,
  kExitConfig = 1,   // the configuration is invalid
  kExitUsage = 2,    // bad command line
  kExitStartup = 3,  // valid config, but the proxy could not start (bind failed, ...)
};

class Process {
 public:
  // `config_path` is read again on SIGHUP. `takeover_from`: the Unix
  // socket of the process to take over from; empty: bind the sockets.
  Process(std::shared_ptr<const Runtime> runtime, std::string config_path,
          std::string takeover_from = {});
  ~Process();

  // Runs until drained; returns the process exit code.
  int run();

 private:
  // Raises the open files limit and sets up global.max_connections.
  void startLimits();
  // After a reload: the limit for the new configuration (process_limits.cc).
  void updateConnectionLimit(const config::Config& config);
  bool bindAll(std::vector<WorkerSockets>& per_worker);
  bool startAdmin();
  void startWorkers(std::vector<WorkerSockets> per_worker);
  // Takeover (process_takeover.cc).
  bool receiveSockets();
  // Every socket of `listener`: those handed over for it, then fresh ones
  // up to one per worker. `bound` is the address they listen on.
  bool listenerSockets(const ListenerRuntime& listener, std::vector<net::ListenSocket>& out,
                       SocketAddress& bound, std::string& why);
  // applyDeferAccept() on each of `listener`'s sockets.
  static void deferAccepts(const ListenerRuntime& listener,
                           const std::vector<net::ListenSocket>& sockets);
  // The admin socket handed over for `admin`, or -1.
  int takeAdminSocket(const config::AdminConfig& admin);
  void closeUnclaimed();
  void confirmTakeover();
  void startTakeoverServer();
  std::vector<HandedSocket> handedSockets() const;
  void handedOver(pid_t pid);
  void installSignals();
  // with_grace: global.drain_grace first (a signal); none after a takeover.
  void beginDrain(bool with_grace = true);
  std::unique_ptr<health::HealthMonitor> makeMonitor(const Runtime& runtime);
  void stopAccepting();
  void reload();
  // Builds a generation from `config` and switches every worker to it;
  // false (nothing changed, `why` says why) if it could not be built.
  bool switchTo(config::Config config, std::string& why);
  // A DNS answer changed some upstream's servers (reload.cc); false when
  // the new generation could not be built.
  bool applyDiscovery();
  void reopenLogs();
  void failReload(const std::string& why);
  bool planListeners(const Runtime& next, std::vector<std::vector<ListenerPlan>>& per_worker,
                     std::vector<std::string>& addresses,
                     std::vector<std::vector<net::ListenSocket>>& held);
  void onWorkerListenersClosed(size_t open);
  void onWorkerDrained();
  void stopAll();
  static void onSignal(evutil_socket_t signal, short, void* self);

  std::shared_ptr<const Runtime> runtime_;
  std::string config_path_;
  std::string takeover_from_;
  unsigned worker_count_;
  net::EventLoop loop_;
  // global.max_connections, shared by the workers; made by run(). Declared
  // before them: workers leave it as they are destroyed.
  std::unique_ptr<net::ConnectionLimit> connection_limit_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // Health checks and outlier decisions; publishes HostSets to the workers.
  std::unique_ptr<health::HealthMonitor> monitor_;
  // Servers from DNS; made by run(), after the workers.
  std::unique_ptr<discovery::Discovery> discovery_;
  app::ReloadStats reloads_;
  std::vector<std::string> listener_addresses_;  // as bound, by listener index
  // By listener index: a copy (dup) of every listening socket the workers
  // accept on, to hand over on a takeover; closed when draining starts.
  std::vector<std::vector<net::ListenSocket>> held_sockets_;
  std::unique_ptr<TakeoverClient> takeover_client_;  // during startup only
  std::unique_ptr<TakeoverServer> takeover_server_;
  std::string takeover_path_;              // the path takeover_server_ listens on
  admin::RefusalCounts admin_refusals_{};  // read by admin_backend_, counted by admin_server_
  std::unique_ptr<ProxyAdmin> admin_backend_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  std::vector<event*> signal_events_;
  net::Timer grace_timer_;
  net::Timer drain_timer_;
  bool draining_ = false;
  unsigned closed_workers_ = 0;
  size_t open_at_drain_ = 0;
  unsigned drained_workers_ = 0;
};

}  // namespace fulcrum::app
