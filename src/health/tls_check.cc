#include "health/tls_check.h"

#include <string>
#include <utility>

#include "health/tcp_check.h"
#include "tls/probe_context.h"
#include "tls/tls_transport.h"

namespace fulcrum::health {
namespace {

class TlsProbe final : public ConnectProbe {
 public:
  using ConnectProbe::ConnectProbe;

 private:
  // The connector made the handshake: that was the check.
  void onConnected(std::unique_ptr<net::Stream> connection) override {
    // Best effort close_notify; the socket closes right after.
    connection->transport().shutdownWrite();
    connection.reset();
    finish(true, "passed");
  }
};

class TlsChecker final : public Checker {
 public:
  TlsChecker(net::EventLoop& loop, const CheckSpec& spec) : loop_(loop), spec_(spec) {
    transport_ = upstreamTransport(spec_);
    if (transport_) return;
    std::string why;
    std::shared_ptr<tls::ProbeContext> context = tls::ProbeContext::create(why);
    if (!context) {
      setup_error_ = "TLS setup failed: " + why;
      return;
    }
    transport_ = [context, name = spec_.server_name](int fd) {
      return tls::TlsTransport::create(fd, context->get(), tls::TlsTransport::Side::Client, name);
    };
  }

  std::unique_ptr<Probe> start(const SocketAddress& address, Done done) override {
    auto probe = std::make_unique<TlsProbe>(loop_, spec_.timeout, std::move(done));
    if (transport_)
      probe->begin(probedAddress(address, spec_), spec_.proxy_header, transport_);
    else
      probe->beginFailed(setup_error_);
    return probe;
  }

 private:
  net::EventLoop& loop_;
  CheckSpec spec_;
  // The upstream's TLS client, or one that verifies nothing (the context
  // is shared with the probes' SSL objects, which hold their own reference).
  net::TransportFactory transport_;
  std::string setup_error_;
};

}  // namespace

std::unique_ptr<Checker> makeTlsChecker(net::EventLoop& loop, const CheckSpec& spec) {
  return std::make_unique<TlsChecker>(loop, spec);
}

}  // namespace fulcrum::health
