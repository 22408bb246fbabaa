// The tcp check, and the connect phase that every check begins with.
//
// tcp: pass = a TCP connect to the probed address succeeded within the
// timeout; the socket is closed at once (after the PROXY header, if any). Failures: "connect
// refused", "connect failed: <errno text>", "timed out after 1s while connecting". A connect that
// fails for want of our own resources (EMFILE, ...) ends the probe as local (ProbeResult::local),
// counted as a local error.
//
// ConnectProbe is the tcp probe and the base of the http and tls probes:
// it owns the deadline timer (armed for the whole probe) and the connect;
// a subclass takes the connected stream in onConnected() and ends the probe
// with finish(). All of it runs on the probe's EventLoop thread.
//
// Lifetime rules for subclasses:
//  - finish() first calls releaseIo(), where the subclass gives up its I/O
//    objects (those whose callback may be on the stack go to
//    loop().deferDelete, never destroyed in place), then calls `done` as its
//    very last act; nothing may touch the probe after finish() returns, as
//    `done` may have destroyed it.
//  - The destructor of a subclass frees whatever it still holds (a probe
//    destroyed mid-flight); the base then frees the timer and the connect.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/socket_address.h"
#include "health/checker.h"
#include "net/connector.h"
#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::health {

std::unique_ptr<Checker> makeTcpChecker(net::EventLoop& loop, const CheckSpec& spec);

// `server` with the spec's port override applied.
SocketAddress probedAddress(const SocketAddress& server, const CheckSpec& spec);

// A probe's TLS client with the upstream's context (spec.tls), for
// spec.server_name, making a full handshake and keeping no session; null
// when the upstream has no TLS.
net::TransportFactory upstreamTransport(const CheckSpec& spec);

class ConnectProbe : public Probe {
 public:
  ConnectProbe(net::EventLoop& loop, std::chrono::milliseconds timeout, Checker::Done done);
  ~ConnectProbe() override;
  ConnectProbe(const ConnectProbe&) = delete;
  ConnectProbe& operator=(const ConnectProbe&) = delete;

  // Arms the deadline and starts connecting; results come from the loop.
  // `preamble` (a PROXY header) is sent in clear as soon as the connect
  // succeeds; `transport` (a TLS client; null: the plain socket) then makes
  // its handshake, and a failed one ends the probe with "TLS handshake
  // failed: <reason>".
  void begin(const SocketAddress& address, std::string_view preamble = {},
             net::TransportFactory transport = nullptr);
  // A probe that cannot run: fails with `why`, from the loop.
  void beginFailed(std::string why);

 protected:
  net::EventLoop& loop() const { return loop_; }
  // Takes the connected stream (nothing read yet). The tcp check closes it
  // and passes.
  virtual void onConnected(std::unique_ptr<net::Stream> connection);
  // Gives up the subclass's sockets and events before `done` runs.
  virtual void releaseIo() {}
  // What a timeout says the probe was doing: "while connecting" at first.
  void setPhase(const char* phase) { phase_ = phase; }
  // Ends the probe (once; later calls do nothing). See the lifetime rules.
  // `local`: see ProbeResult::local.
  void finish(bool passed, std::string why, bool local = false);

 private:
  void onDeadline();
  // `in_handshake`: the TCP connect was done (the TLS handshake is named).
  void timedOut(bool in_handshake);

  net::EventLoop& loop_;
  std::chrono::milliseconds timeout_;
  Checker::Done done_;
  std::unique_ptr<net::Timer> deadline_;
  std::unique_ptr<net::Connector> connector_;
  const char* phase_ = "while connecting";
  bool tls_ = false;  // begin() was given a transport: past the connect, a handshake runs
  std::optional<std::string> failed_before_start_;
};

}  // namespace fulcrum::health
