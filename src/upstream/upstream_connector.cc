#include "upstream/upstream_connector.h"

#include "net/turn_clock.h"

namespace fulcrum::upstream {

const Server* UpstreamConnector::next(std::optional<uint64_t> hash) {
  if (const Server* server = picker_.pick(tried_, hash)) return server;
  // Nothing reached a server yet, so an ejected one cannot be loaded by
  // this request, and may be the only one that is up.
  if (connect_failures_ > 0 && connect_failures_ >= tried_.size())
    return picker_.pickStandby(tried_);
  return nullptr;
}

void UpstreamConnector::connect(const Server& server, Callback done) {
  tried_.add(server.index);
  const auto started = net::TurnClock::now();
  net::TransportFactory transport;
  if (const tls::ClientContext* tls = picker_.upstream().tls.get())
    // The Upstream (so its context and the server) outlives its connects.
    transport = [tls, &server](int fd) { return tls->open(fd, server.tls_name, server.index); };
  connector_.connect(
      server.address, picker_.upstream().connect_timeout,
      [this, &server, started, done = std::move(done)](net::ConnectResult connected) {
        UpstreamConnectResult result;
        result.server = &server;
        result.stream = std::move(connected.stream);
        result.failure = connected.failure;
        result.error_number = connected.error_number;
        result.detail = std::move(connected.detail);
        result.took =
            std::chrono::duration_cast<std::chrono::microseconds>(net::TurnClock::now() - started);
        // A local failure is ours, whichever server it was meant for.
        if (!result.ok())
          recordFailure(result.local() ? std::string("local") : server.label, result.detail);
        // net::Connector holds this lambda outside itself while it runs, so
        // `done` may start the next connect.
        done(std::move(result));
      },
      std::move(transport), preamble_);
}

void UpstreamConnector::noteFailure(const Server& server, const std::string& detail) {
  recordFailure(server.label, detail);
}

void UpstreamConnector::recordFailure(const std::string& who, const std::string& detail) {
  ++connect_failures_;
  if (!failures_.empty()) failures_ += "; ";
  failures_ += who + ": " + detail;
}

}  // namespace fulcrum::upstream
