#include "upstream/upstream_connector.h"

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
  const auto started = std::chrono::steady_clock::now();
  connector_.connect(
      server.address, picker_.upstream().connect_timeout,
      [this, &server, started, done = std::move(done)](net::ConnectResult connected) {
        UpstreamConnectResult result;
        result.server = &server;
        result.stream = std::move(connected.stream);
        result.failure = connected.failure;
        result.error_number = connected.error_number;
        result.detail = std::move(connected.detail);
        result.took = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - started);
        if (result.ok() && !preamble_.empty())
          evbuffer_add(result.stream->output(), preamble_.data(), preamble_.size());
        if (!result.ok()) {
          ++connect_failures_;
          if (!failures_.empty()) failures_ += "; ";
          // A local failure is ours, whichever server it was meant for.
          failures_ +=
              (result.local() ? std::string("local") : server.label) + ": " + result.detail;
        }
        // net::Connector holds this lambda outside itself while it runs, so
        // `done` may start the next connect.
        done(std::move(result));
      });
}

}  // namespace fulcrum::upstream
