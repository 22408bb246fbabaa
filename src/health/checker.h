// Active health probes: one Checker per upstream check, one Probe per probe
// of one server. The scheduling (intervals, rise/fall) lives elsewhere and
// drives this seam.
//
// Threading: a Checker and its Probes belong to the EventLoop they were made
// with and are used on that loop's thread only (the control loop).
// Lifetime: the loop outlives the Checker; the Checker outlives its Probes.
// Every Probe owns its socket, events, timer and TLS state; destroying it
// cancels the probe, frees all of them, and its `done` never runs after.
// `done` runs exactly once per probe that is not destroyed first, always
// from the loop (never inside start()), after the probe has released its
// socket; `done` may destroy the Probe that called it.
// The process must ignore SIGPIPE (fulcrum's main does): probes write to
// sockets whose peer may have gone away.
//
// Per-type behaviour and `why` texts: tcp_check.h, http_check.h, tls_check.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/socket_address.h"
#include "net/event_loop.h"
#include "tls/client_context.h"

namespace fulcrum::health {

enum class CheckType { Tcp, Http, Tls };

// Inclusive range of HTTP status codes; a single code is {code, code}.
struct StatusRange {
  unsigned low = 200;
  unsigned high = 399;
};

// One upstream's check, from the config (validated there: method GET or
// HEAD, path starting with '/', header names/values without CR/LF). A spec
// the checker cannot turn into a request makes every probe fail with a why
// that names the problem.
struct CheckSpec {
  CheckType type = CheckType::Tcp;
  // Over the whole probe: connect + request + response, or the handshake.
  std::chrono::milliseconds timeout{1000};
  uint16_t port = 0;  // 0 = the server's own port
  // http
  std::string method = "GET";  // GET or HEAD
  std::string path = "/";
  std::string host;  // Host header; empty = the probed address as text ("10.0.0.1:8080")
  std::vector<StatusRange> expect_status{{200, 399}};
  std::string expect_body;  // substring of the first 64 KiB of the body; empty = no check
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  // tls (and http with `tls`)
  std::string server_name;  // SNI; empty = none. With `tls`: the name verified too
  // The upstream's TLS (null: it has none). A tls check then makes its
  // handshake with it, verifying the certificate as traffic does, and an
  // http check speaks HTTP over it (tls_check.h).
  std::shared_ptr<const tls::ClientContext> tls;
  // Sent first on every probe connection, before the check's own bytes:
  // the LOCAL PROXY header a server behind proxy_protocol expects. Empty:
  // none.
  std::string proxy_header;
};

struct ProbeResult {
  bool passed = false;
  // "passed" on success; otherwise why it failed, for logs: "connect refused",
  // "timed out after 1s while connecting", "status 500 not expected (200-399)",
  // "body lacks \"ok\"", "TLS handshake failed: wrong version number", ...
  std::string why;
  // The probe could not run for want of fulcrum's own resources (out of
  // descriptors, ...: core/local_errors.h): neither a pass nor a failure,
  // it says nothing about the server. `why` says what ran out.
  bool local = false;
};

// A probe in flight; destroying it cancels the probe (see above).
class Probe {
 public:
  virtual ~Probe() = default;
};

class Checker {
 public:
  virtual ~Checker() = default;
  using Done = std::function<void(const ProbeResult&)>;

  // Starts one probe of `address` (a server's traffic address; the spec's
  // port override is applied here). The probe fails with "timed out after
  // <timeout> ..." when it is not done within spec.timeout, and cancels
  // itself then. Never returns null.
  virtual std::unique_ptr<Probe> start(const SocketAddress& address, Done done) = 0;
};

// Per-type factories, documented (and declared again) in tcp_check.h,
// http_check.h and tls_check.h.
std::unique_ptr<Checker> makeTcpChecker(net::EventLoop& loop, const CheckSpec& spec);
std::unique_ptr<Checker> makeHttpChecker(net::EventLoop& loop, const CheckSpec& spec);
std::unique_ptr<Checker> makeTlsChecker(net::EventLoop& loop, const CheckSpec& spec);

// The checker for spec.type, bound to `loop` (which must outlive it).
inline std::unique_ptr<Checker> makeChecker(net::EventLoop& loop, const CheckSpec& spec) {
  switch (spec.type) {
    case CheckType::Http:
      return makeHttpChecker(loop, spec);
    case CheckType::Tls:
      return makeTlsChecker(loop, spec);
    case CheckType::Tcp:
      break;
  }
  return makeTcpChecker(loop, spec);
}

}  // namespace fulcrum::health
