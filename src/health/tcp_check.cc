#include "health/tcp_check.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "core/local_errors.h"
#include "core/time_text.h"

namespace fulcrum::health {
namespace {

// What finish() cannot destroy in place: it may run inside the deadline
// timer's or the connector's own callback.
struct Leftovers final : net::DeferredDeletable {
  std::unique_ptr<net::Timer> deadline;
  std::unique_ptr<net::Connector> connector;
};

class TcpChecker final : public Checker {
 public:
  TcpChecker(net::EventLoop& loop, const CheckSpec& spec) : loop_(loop), spec_(spec) {}

  std::unique_ptr<Probe> start(const SocketAddress& address, Done done) override {
    auto probe = std::make_unique<ConnectProbe>(loop_, spec_.timeout, std::move(done));
    probe->begin(probedAddress(address, spec_), spec_.proxy_header);
    return probe;
  }

 private:
  net::EventLoop& loop_;
  CheckSpec spec_;
};

}  // namespace

SocketAddress probedAddress(const SocketAddress& server, const CheckSpec& spec) {
  SocketAddress address = server;
  if (spec.port != 0) address.setPort(spec.port);
  return address;
}

ConnectProbe::ConnectProbe(net::EventLoop& loop, std::chrono::milliseconds timeout,
                           Checker::Done done)
    : loop_(loop),
      timeout_(timeout),
      done_(std::move(done)),
      deadline_(std::make_unique<net::Timer>(loop, [this] { onDeadline(); })),
      connector_(std::make_unique<net::Connector>(loop)) {}

ConnectProbe::~ConnectProbe() = default;

net::TransportFactory upstreamTransport(const CheckSpec& spec) {
  if (!spec.tls) return nullptr;
  return [tls = spec.tls, name = spec.server_name](int fd) {
    return tls->open(fd, name, std::nullopt);
  };
}

void ConnectProbe::begin(const SocketAddress& address, std::string_view preamble,
                         net::TransportFactory transport) {
  deadline_->arm(timeout_);
  tls_ = transport != nullptr;
  // The connector gets the same deadline as a backstop; ours, armed first,
  // fires first and names the phase.
  auto connected = [this](net::ConnectResult result) {
    switch (result.failure) {
      case net::ConnectFailure::None:
        onConnected(std::move(result.stream));
        return;
      case net::ConnectFailure::Handshake:
        finish(false, "TLS " + result.detail);  // "TLS handshake failed: <reason>"
        return;
      case net::ConnectFailure::LocalResource:
        countLocalError(LocalSite::HealthCheck, result.error_number);
        finish(false, "not run: " + result.detail + " (local)", /*local=*/true);
        return;
      case net::ConnectFailure::Refused:
        // The common case, and the one the logs should say plainly.
        finish(false, "connect refused");
        return;
      case net::ConnectFailure::Timeout:
        if (result.error_number == 0) {  // our deadline, not the kernel's
          timedOut(result.in_handshake);
          return;
        }
        break;
      default:
        break;
    }
    finish(false, "connect failed: " + result.detail);
  };
  connector_->connect(address, timeout_, std::move(connected), std::move(transport), preamble);
}

void ConnectProbe::beginFailed(std::string why) {
  failed_before_start_ = std::move(why);
  deadline_->arm(std::chrono::milliseconds(0));
}

void ConnectProbe::onConnected(std::unique_ptr<net::Stream> connection) {
  connection.reset();  // closed at once: the connect was the check
  finish(true, "passed");
}

void ConnectProbe::onDeadline() {
  if (failed_before_start_) {
    finish(false, *failed_before_start_);
    return;
  }
  timedOut(connector_ && connector_->handshaking());
}

void ConnectProbe::timedOut(bool in_handshake) {
  finish(false, "timed out after " + formatDuration(timeout_) + " " +
                    (tls_ && in_handshake ? "during the TLS handshake" : phase_));
}

void ConnectProbe::finish(bool passed, std::string why, bool local) {
  if (!done_) return;
  releaseIo();
  deadline_->cancel();
  connector_->cancel();
  auto leftovers = std::make_unique<Leftovers>();
  leftovers->deadline = std::move(deadline_);
  leftovers->connector = std::move(connector_);
  loop_.deferDelete(std::move(leftovers));
  Checker::Done done = std::move(done_);
  done_ = nullptr;
  // Last act: `done` may destroy this probe.
  done(ProbeResult{passed, std::move(why), local});
}

std::unique_ptr<Checker> makeTcpChecker(net::EventLoop& loop, const CheckSpec& spec) {
  return std::make_unique<TcpChecker>(loop, spec);
}

}  // namespace fulcrum::health
