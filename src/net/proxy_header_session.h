// The first step of a connection on a listener with proxy_protocol: read
// the PROXY header (v1 or v2, told apart by their signatures) with a
// deadline, then hand the connection, minus the header, to the session it
// is for, with the client the header names. Bytes after the header stay in
// the stream's input for that session.
//
//  - required: only a peer in trusted_proxies may connect (any other is
//    closed at once, unread), and it must open with a valid header.
//  - optional: a trusted peer may open with a header or not; any other
//    peer is the client itself, and is closed if it opens with a header
//    (a forged one). The first bytes decide, so with a server-first
//    protocol (nothing comes from the client) the connection is handed on
//    when the deadline passes.
// A connection closed before it sent anything is not a rejection: balancers'
// TCP health checks do that.
//
// Owned by the worker like any session, on its loop. `make` runs at most
// once, from a stream callback or the deadline timer; the session it returns
// is owned by this object, gets the stream, and reports its end through the
// callback it was given, which ends this session too (`done`). `rejected`
// runs just before `done` when the connection is closed for its header. The
// worker must outlive every callback (it owns this session).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/cidr.h"
#include "net/proxy_protocol.h"
#include "net/session.h"
#include "net/stream.h"
#include "net/timer.h"

namespace fulcrum::net {

enum class ProxyRejection : uint8_t { Untrusted, Missing, Malformed, Timeout };
inline constexpr size_t kProxyRejections = 4;
// "untrusted", "missing", "malformed", "timeout": the metric's reason label.
const char* proxyRejectionName(ProxyRejection reason);

// The address a connected socket is bound to (the client's destination).
SocketAddress localAddressOf(int fd);

class ProxyHeaderSession final : public Session, private StreamHandler {
 public:
  using DoneCallback = std::function<void(Session&)>;
  using MakeSession = std::function<std::unique_ptr<Session>(
      std::unique_ptr<Stream> stream, const ClientAddresses& addresses, DoneCallback done)>;
  using Rejected = std::function<void(Session&, ProxyRejection)>;

  struct Params {
    EventLoop* loop = nullptr;
    const CidrList* trusted = nullptr;           // kept alive by the worker's generation
    const std::string* listener_name = nullptr;  // for logs; idem
    bool required = true;
    std::chrono::milliseconds timeout{5000};
  };

  // `addresses.local` is this side of the connection; the header, when
  // there is one, replaces `client` and `local`.
  ProxyHeaderSession(Params params, std::unique_ptr<Stream> stream, ClientAddresses addresses,
                     MakeSession make, Rejected rejected, DoneCallback done);
  ~ProxyHeaderSession() override;

  void start() override;
  void drain() override;
  void closeAfterResponse() override;
  void abandon() override;

 private:
  void onReadable(Stream& stream) override;
  void onClosed(Stream& stream, bool error, int code) override;
  void onDeadline();
  void handOver();
  void reject(ProxyRejection reason, const std::string& why);
  void end();

  Params params_;
  std::unique_ptr<Stream> stream_;  // until handed over
  ClientAddresses addresses_;
  MakeSession make_;
  Rejected rejected_;
  DoneCallback done_;
  Timer deadline_;
  bool trusted_ = false;
  bool draining_ = false;
  bool closing_ = false;  // closeAfterResponse() came before the header
  bool ended_ = false;
  std::unique_ptr<Session> inner_;
};

}  // namespace fulcrum::net
