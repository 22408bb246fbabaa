// The Worker's TLS handshakes on accepted connections: a connection of a
// TLS listener becomes a session only once its handshake is done; a failed
// one is counted by reason and logged without flooding the log.
#include <cerrno>

#include "app/worker.h"
#include "core/errno_text.h"
#include "core/log.h"
#include "core/rate_limited_log.h"
#include "tls/tls_transport.h"

namespace fulcrum::app {

void Worker::startHandshake(Listener& listener, std::unique_ptr<net::Stream> connection,
                            const SocketAddress& client) {
  const ListenerRuntime& spec = generation_->runtime->listeners()[listener.index];
  net::Stream* raw = connection.get();
  listener.handshaking.emplace(raw, std::move(connection));
  Listener* owner = &listener;
  // The stream, and this callback with it, dies with the listener.
  raw->handshake(
      spec.handshake_timeout, [this, owner, client](net::Stream& stream, net::IoResult result) {
        auto found = owner->handshaking.find(&stream);
        if (found == owner->handshaking.end()) return;
        std::unique_ptr<net::Stream> done = std::move(found->second);
        owner->handshaking.erase(found);
        // The listener's index is the running generation's (a reload
        // re-points it), so the count lands where a scrape looks for it.
        auto& handshakes = generation_->metrics.listeners[owner->index].handshakes;
        if (result.status == net::IoResult::Status::Done) {
          ++handshakes[static_cast<size_t>(tls::HandshakeResult::Ok)];
          startSession(*owner, std::move(done), client);
          return;
        }
        const tls::HandshakeResult why = handshakeFailed(*owner, *done, result.error, client);
        ++handshakes[static_cast<size_t>(why)];
        loop_->deferDelete(std::move(done));
        maybeDrained();
      });
}

tls::HandshakeResult Worker::handshakeFailed(const Listener& listener, const net::Stream& stream,
                                             int error, const SocketAddress& client) {
  const auto* transport = dynamic_cast<const tls::TlsTransport*>(&stream.transport());
  const tls::HandshakeResult result =
      tls::classifyHandshakeFailure(error, transport ? transport->lastErrorCode() : 0);
  const std::string why = error == ETIMEDOUT ? std::string("timed out")
                          : transport != nullptr && !transport->lastError().empty()
                              ? transport->lastError()
                              : errnoText(error);
  const std::string& name = generation_->runtime->listeners()[listener.index].name;
  const std::string label(tls::handshakeResultLabel(result));
  // Every one at debug; at info a sample now and then, with how many more
  // there were: a scanner must not flood the log, and the counts are in
  // fulcrum_tls_handshakes_total anyway.
  if (log::enabled(log::Level::Debug)) {
    log::debug("worker %u: listener %s: TLS handshake with %s failed (%s): %s", id_, name.c_str(),
               client.toString().c_str(), label.c_str(), why.c_str());
  } else {
    static log::Limited limited(1, std::chrono::minutes(1));
    limited.info("listener %s: TLS handshake with %s failed (%s): %s", name.c_str(),
                 client.toString().c_str(), label.c_str(), why.c_str());
  }
  return result;
}

}  // namespace fulcrum::app
