// The admin listener: /metrics, /healthz, /status, /status.json and the
// /api drain calls (the contract is /tmp/spec/metrics.md, "Admin listener"),
// served by libevent's evhttp on the control loop.
//
// Threading: construct, listen, destroy and let it serve on the loop's
// thread only (or while the loop is not running). Every ProxyControl call happens
// on that loop, from a request callback.
//
// /metrics is answered asynchronously: ProxyControl::collectMetrics() gets a
// `done` callback that holds only a weak reference to the pending reply, so
// `done` may run at any later time: after the client went away (the text is
// dropped), after the AdminServer was destroyed (nothing happens), or before
// collectMetrics returns.
//
// Connections are capped (`max_connections`) and accept() errors pause
// accepting instead of spinning: admin/connection_cap.h.
//
// Who may do what (the Host, the token, browsers' cross-site requests) is
// the AccessPolicy's, checked before any route: admin/request_gate.h.
#pragma once

#include <event2/http.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "admin/connection_cap.h"
#include "admin/proxy_control.h"
#include "admin/request_gate.h"
#include "core/socket_address.h"
#include "net/event_loop.h"

namespace fulcrum::admin {

class AdminServer {
 public:
  // All three must outlive the AdminServer; `refusals` counts the requests
  // the policy refused, by reason. At most `max_connections` admin
  // connections are open at once; more wait in the listen backlog.
  AdminServer(net::EventLoop& loop, ProxyControl& proxy, RefusalCounts& refusals,
              size_t max_connections = 64);
  // Closes the listener and every admin connection; pending /metrics
  // requests are dropped without an answer.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving (port 0: the kernel picks one, see bound())
  // under `policy`. Once per AdminServer. Returns false with the reason
  // (bind failure, already listening).
  bool listen(const SocketAddress& address, AccessPolicy policy, std::string& why);
  // The same on `fd`, a socket listening already (handed over by the
  // process this one takes over from); takes it, closing it on failure.
  bool listenOn(int fd, AccessPolicy policy, std::string& why);
  // The listening socket (borrowed, for a takeover); -1 when not listening.
  int listeningFd() const;
  // Stops accepting (the process was taken over); the socket is closed,
  // never shut down, so the new process keeps its queue. Open admin
  // connections are answered still.
  void stopListening();
  // From the next request on (a reload's new token, hosts, protect_status).
  void setPolicy(AccessPolicy policy) { policy_ = std::move(policy); }
  // The address actually bound; empty before a successful listen().
  SocketAddress bound() const { return bound_; }

  // Requests (/metrics, ledger keys) waiting for their `done`.
  size_t pendingRepliesForTest() const { return pending_.size(); }
  // Admin connections open (counted against max_connections).
  size_t openConnectionsForTest() const { return cap_ ? cap_->open() : 0; }

 private:
  struct PendingReply;

  bool serve(evconnlistener* listener, AccessPolicy policy, std::string& why);
  static void onRequest(evhttp_request* request, void* self);
  // From the cap, for every connection that goes.
  void connectionClosed(evhttp_connection* connection);

  void handle(evhttp_request* request);
  void serveMetrics(evhttp_request* request);
  void finishMetrics(PendingReply& pending, const std::string& text);
  // Keeps `request` for an answer that comes later: the record goes when
  // the answer is taken or when the client goes.
  std::weak_ptr<PendingReply> defer(evhttp_request* request);
  // The request to answer now, or null when its client went away; the
  // record is forgotten (the caller's shared_ptr keeps it alive).
  evhttp_request* takeRequest(PendingReply& pending);
  void serveHealthz(evhttp_request* request);
  void serveStatusPage(evhttp_request* request);
  void serveStatusJson(evhttp_request* request);
  void serveApi(evhttp_request* request, const std::vector<std::string>& segments,
                const std::optional<Authority>& target);
  void serveLedgerKey(evhttp_request* request, const std::vector<std::string>& segments,
                      const std::optional<Authority>& target);
  void finishLedgerKey(PendingReply& pending, const LedgerKey& found);
  // Answers a refused request (and counts and logs it); false: go on.
  bool refused(evhttp_request* request, const Verdict& verdict);

  net::EventLoop& loop_;
  ProxyControl& proxy_;
  RefusalCounts& refusals_;
  const size_t max_connections_;
  // Hears every connection's close, those of evhttp_free (destructor)
  // included, so it goes after http_.
  std::unique_ptr<ConnectionCap> cap_;
  evhttp* http_ = nullptr;
  AccessPolicy policy_;
  SocketAddress bound_;
  evhttp_bound_socket* bound_socket_ = nullptr;  // owned by http_
  // Owned here; `done` callbacks refer to them weakly (weak_ptr), closes
  // find them by their connection.
  std::unordered_map<PendingReply*, std::shared_ptr<PendingReply>> pending_;
};

}  // namespace fulcrum::admin
